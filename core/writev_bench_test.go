//go:build linux || darwin || freebsd

package core

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// writevFile is a RecordWriter that writes the records of a call to a file
// with writev(2), as they lie in the buffer: one iovec per record, at most
// maxRecordsPerCall (IOV_MAX) of them per call, so one writev per call
// unless the kernel writes short, in which case it goes on from where the
// kernel stopped, inside a record if need be, within the same call.
type writevFile struct {
	f   *os.File
	iov []syscall.Iovec
}

func (s *writevFile) WriteRecords(recs [][]byte) (int, error) {
	iov := s.iov[:0]
	for _, r := range recs {
		v := syscall.Iovec{Base: unsafe.SliceData(r)}
		v.SetLen(len(r))
		iov = append(iov, v)
	}
	s.iov = iov
	done := 0 // records written whole
	for len(iov) > 0 {
		n, _, errno := syscall.Syscall(syscall.SYS_WRITEV, s.f.Fd(), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return done, errno
		}
		for n > 0 && len(iov) > 0 {
			if l := uintptr(iov[0].Len); n >= l {
				n -= l
				iov = iov[1:]
				done++
				continue
			}
			iov[0].Base = (*byte)(unsafe.Add(unsafe.Pointer(iov[0].Base), n))
			iov[0].SetLen(int(uintptr(iov[0].Len) - n))
			n = 0
		}
	}
	clear(s.iov) // no pointer into the buffer kept
	return done, nil
}

func (s *writevFile) Write(p []byte) (int, error) { return s.f.Write(p) }

// TestWritevFile checks writevFile, the sink BenchmarkFileSink measures:
// the file holds the records, in order, whole.
func TestWritevFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	require.NoError(t, err)
	defer f.Close()
	w := newBareWriter(WithSink(&writevFile{f: f}))
	b := newBuffer(make([]byte, 512<<10))
	recs := benchRecords(200, len(b.data))
	fillSealed(w, b, recs)
	w.writeOut(b)
	got, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	require.True(t, bytes.Equal(bytes.Join(recs, nil), got), "the file does not hold the %d records", len(recs))
}

// BenchmarkFileSink measures the writer goroutine's part of one sink write
// to a file, per buffer of records filled to the high-water mark of a
// default Writer (512 KiB): today's in-place compaction and write(2)
// ("compact"), against writev(2) of the records as they lie, through
// WriteRecords ("writev"). Each op fills the buffer as callers would and
// writes it; both write at the start of the file, in the page cache.
//
// writev lost, so *os.File sinks keep compaction. Measured on 2 shared
// cores (amd64, Linux 6, Go 1.25), 6 runs each, benchstat, per buffer:
// records of 64 bytes, writev +14% (not significant, p=0.39); of 200
// bytes, +28% (p=0.004); of 1000 bytes, -14% (not significant, p=0.70).
// The kernel's walk of one iovec per record costs more than moving short
// records down in memory the writer goroutine has just read; only records
// of a kilobyte and more come out even.
func BenchmarkFileSink(b *testing.B) {
	for _, n := range []int{64, 200, 1000} {
		for _, mode := range []string{"compact", "writev"} {
			b.Run(fmt.Sprintf("record=%d/%s", n, mode), func(b *testing.B) {
				f, err := os.Create(filepath.Join(b.TempDir(), "log"))
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				var w *Writer
				if mode == "compact" {
					w = newBareWriter(WithSink(f))
				} else {
					w = newBareWriter(WithSink(&writevFile{f: f}))
				}
				buf := newBuffer(make([]byte, 1<<20))
				recs := benchRecords(n, len(buf.data))
				b.SetBytes(int64(total(recs)))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					fillSealed(w, buf, recs)
					if _, err := f.Seek(0, 0); err != nil {
						b.Fatal(err)
					}
					w.writeOut(buf)
				}
				b.ReportMetric(float64(len(recs)), "records/op")
			})
		}
	}
}
