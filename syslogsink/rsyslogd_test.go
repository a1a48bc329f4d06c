//go:build linux || darwin || freebsd

package syslogsink

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The tests in this package run the real rsyslogd (Debian packages
// rsyslog, rsyslog-relp and rsyslog-gnutls). Without it they skip, but
// fail when the environment variable CI is set: in CI they must run.

// rsyslogdOptions are what a test's collector differs in.
type rsyslogdOptions struct {
	maxMessageSize string // rsyslog's maxMessageSize; "" for 1m
	pki            *testPKI
	// queued: the ruleset's default in-memory queue instead of the
	// Direct one, for benchmarks of the sender: acknowledgements then
	// mean queued, not written.
	queued bool
}

// An rsyslogd is a collector of a test's own: a private config, loopback
// ports chosen free, one RELP input and one TCP input (with TLS if the
// options give certificates) writing each message's raw bytes, JSON
// escaped, as one line of a file, from a ruleset with a Direct queue, so
// that an acknowledgement means the line was written.
type rsyslogd struct {
	t        testing.TB
	dir      string
	conf     string
	out      string
	relpAddr string
	tcpAddr  string
	cmd      *exec.Cmd
	waited   chan struct{}
}

// requireRsyslogd skips the test if rsyslogd is not installed, or fails
// it in CI.
func requireRsyslogd(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("rsyslogd")
	if err != nil {
		for _, p := range []string{"/usr/sbin/rsyslogd", "/sbin/rsyslogd"} {
			if _, err2 := os.Stat(p); err2 == nil {
				return p
			}
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("rsyslogd is not installed, and CI is set: install rsyslog, rsyslog-relp and rsyslog-gnutls (%v)", err)
		}
		t.Skipf("rsyslogd is not installed (apt-get install rsyslog rsyslog-relp rsyslog-gnutls): %v", err)
	}
	return path
}

// freePort returns a loopback address whose port was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// startRsyslogd writes a config and starts rsyslogd; it is stopped when
// the test ends.
func startRsyslogd(t testing.TB, o rsyslogdOptions) *rsyslogd {
	t.Helper()
	requireRsyslogd(t)
	dir := t.TempDir()
	r := &rsyslogd{
		t:        t,
		dir:      dir,
		conf:     filepath.Join(dir, "rsyslog.conf"),
		out:      filepath.Join(dir, "out.log"),
		relpAddr: freePort(t),
		tcpAddr:  freePort(t),
	}
	if o.maxMessageSize == "" {
		o.maxMessageSize = "1m"
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "work"), 0o755))
	var conf bytes.Buffer
	_, relpPort, _ := net.SplitHostPort(r.relpAddr)
	_, tcpPort, _ := net.SplitHostPort(r.tcpAddr)
	if o.pki == nil {
		fmt.Fprintf(&conf, `global(workDirectory=%q maxMessageSize=%q parser.escapeControlCharactersOnReceive="off")
module(load="imtcp")
module(load="imrelp")
input(type="imtcp" address="127.0.0.1" port=%q ruleset="r")
input(type="imrelp" address="127.0.0.1" port=%q ruleset="r" maxDataSize=%q)
`, filepath.Join(dir, "work"), o.maxMessageSize, tcpPort, relpPort, o.maxMessageSize)
	} else {
		files := o.pki.write(t, dir)
		fmt.Fprintf(&conf, `global(workDirectory=%q maxMessageSize=%q parser.escapeControlCharactersOnReceive="off"
       defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile=%q
       defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q)
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
module(load="imrelp")
input(type="imtcp" address="127.0.0.1" port=%q ruleset="r")
input(type="imrelp" address="127.0.0.1" port=%q ruleset="r" maxDataSize=%q
      tls="on" tls.cacert=%q tls.mycert=%q tls.myprivkey=%q
      tls.authMode="name" tls.permittedPeer=["*"])
`, filepath.Join(dir, "work"), o.maxMessageSize, files.ca, files.cert, files.key, tcpPort, relpPort, o.maxMessageSize,
			files.ca, files.cert, files.key)
	}
	queue := "Direct"
	if o.queued {
		queue = "LinkedList"
	}
	fmt.Fprintf(&conf, `template(name="raw" type="string" string="%%rawmsg:::json%%\n")
ruleset(name="r" queue.type=%q) {
  action(type="omfile" file=%q template="raw")
}
`, queue, r.out)
	require.NoError(t, os.WriteFile(r.conf, conf.Bytes(), 0o644))
	r.start()
	t.Cleanup(r.stop)
	return r
}

// start starts rsyslogd in its own process group and waits until both
// inputs accept connections.
func (r *rsyslogd) start() {
	r.t.Helper()
	if r.cmd != nil {
		r.t.Fatal("rsyslogd started twice")
	}
	cmd := exec.Command(requireRsyslogd(r.t), "-n", "-f", r.conf, "-i", "NONE")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logFile, err := os.OpenFile(filepath.Join(r.dir, "rsyslogd.stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(r.t, err)
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(r.t, cmd.Start())
	r.cmd = cmd
	r.waited = make(chan struct{})
	go func() {
		cmd.Wait()
		close(r.waited)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for _, addr := range []string{r.relpAddr, r.tcpAddr} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-r.waited:
				log, _ := os.ReadFile(filepath.Join(r.dir, "rsyslogd.stderr"))
				r.t.Fatalf("rsyslogd exited at start: %s", log)
			default:
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(r.dir, "rsyslogd.stderr"))
				r.t.Fatalf("rsyslogd does not accept on %s after 10 s: %v\n%s", addr, err, log)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// signal sends sig to rsyslogd's process group.
func (r *rsyslogd) signal(sig syscall.Signal) {
	r.t.Helper()
	require.NotNil(r.t, r.cmd, "rsyslogd is not running")
	require.NoError(r.t, syscall.Kill(-r.cmd.Process.Pid, sig))
}

// kill SIGKILLs rsyslogd and waits until it is gone.
func (r *rsyslogd) kill() {
	r.t.Helper()
	r.signal(syscall.SIGKILL)
	<-r.waited
	r.cmd = nil
}

// stop ends rsyslogd, if it runs: SIGCONT and SIGTERM, then SIGKILL after
// 5 s.
func (r *rsyslogd) stop() {
	if r.cmd == nil {
		return
	}
	pid := r.cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGCONT)
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-r.waited:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-r.waited
	}
	r.cmd = nil
}

// lines returns the messages in rsyslogd's file, each unescaped to the
// bytes that arrived.
func (r *rsyslogd) lines() [][]byte {
	r.t.Helper()
	f, err := os.Open(r.out)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(r.t, err)
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.IndexByte(line, '\\') < 0 {
			lines = append(lines, bytes.Clone(line)) // nothing escaped
			continue
		}
		var s string
		if err := json.Unmarshal([]byte(`"`+sc.Text()+`"`), &s); err != nil {
			r.t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, []byte(s))
	}
	require.NoError(r.t, sc.Err())
	return lines
}

// waitLines waits until rsyslogd's file has at least n lines, or until
// their count has not changed for 300 ms (what was lost will not come),
// and returns them.
func (r *rsyslogd) waitLines(n int) [][]byte {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last, since := -1, time.Now()
	for {
		lines := r.lines()
		if len(lines) != last {
			last, since = len(lines), time.Now()
		}
		if len(lines) >= n || time.Since(since) > 300*time.Millisecond || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A testPKI is a throw-away CA and the certificates it signed: one for
// the collector (127.0.0.1) and one for the client (RELP over TLS asks
// for one).
type testPKI struct {
	caPEM, certPEM, keyPEM []byte
	pool                   *x509.CertPool
	client                 tls.Certificate
}

type pkiFiles struct{ ca, cert, key string }

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			DNSNames:     []string{cn},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		require.NoError(t, err)
		return der, key
	}
	p := &testPKI{pool: x509.NewCertPool()}
	p.pool.AddCert(caCert)
	p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	serverDER, serverKey := issue(2, "localhost", x509.ExtKeyUsageServerAuth)
	p.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: serverDER})
	keyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	require.NoError(t, err)
	p.keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	clientDER, clientKey := issue(3, "client", x509.ExtKeyUsageClientAuth)
	p.client = tls.Certificate{Certificate: [][]byte{clientDER}, PrivateKey: clientKey}
	return p
}

func (p *testPKI) write(t testing.TB, dir string) pkiFiles {
	t.Helper()
	f := pkiFiles{ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem")}
	require.NoError(t, os.WriteFile(f.ca, p.caPEM, 0o600))
	require.NoError(t, os.WriteFile(f.cert, p.certPEM, 0o600))
	require.NoError(t, os.WriteFile(f.key, p.keyPEM, 0o600))
	return f
}

// clientConfig is the TLS config of a Sink that trusts the PKI's CA.
func (p *testPKI) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{p.client}, MinVersion: tls.VersionTLS12}
}

// testRecord is record seq of goroutine g: a JSON line as zap writes it,
// padded to about size bytes, ending in a newline.
func testRecord(g, seq, size int) []byte {
	b := fmt.Appendf(nil, `{"level":"info","g":%d,"seq":%d,"msg":"`, g, seq)
	for len(b) < size-3 {
		b = append(b, byte('a'+(seq+len(b))%26))
	}
	return append(b, "\"}\n"...)
}

// recordKey returns the goroutine and sequence number of a test record,
// parsed from a message that arrived.
func recordKey(msg []byte) (g, seq int, ok bool) {
	i := bytes.Index(msg, []byte(`"g":`))
	j := bytes.Index(msg, []byte(`,"seq":`))
	k := bytes.Index(msg, []byte(`,"msg"`))
	if i < 0 || j < i || k < j {
		return 0, 0, false
	}
	g, err1 := strconv.Atoi(string(msg[i+4 : j]))
	seq, err2 := strconv.Atoi(string(msg[j+7 : k]))
	return g, seq, err1 == nil && err2 == nil
}

// msgOf returns the MSG of an RFC 5424 message: what follows its seven
// header fields.
func msgOf(t testing.TB, line []byte) []byte {
	t.Helper()
	rest := line
	for range 7 {
		i := bytes.IndexByte(rest, ' ')
		require.GreaterOrEqual(t, i, 0, "not an RFC 5424 message: %q", line)
		rest = rest[i+1:]
	}
	return rest
}
