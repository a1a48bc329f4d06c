package syslogsink_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/syslogsink"
)

// collector is a stand-in for a syslog collector that takes RFC 6587
// octet-counted messages over TCP: it prints the first n it gets.
func collector(n int) (addr string, done chan struct{}) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	done = make(chan struct{})
	go func() {
		defer close(done)
		defer l.Close()
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for range n {
			size, err := r.ReadString(' ')
			if err != nil {
				return
			}
			length, _ := strconv.Atoi(strings.TrimSpace(size))
			msg := make([]byte, length)
			if _, err := io.ReadFull(r, msg); err != nil {
				return
			}
			fmt.Printf("%s\n", msg)
		}
	}()
	return l.Addr().String(), done
}

// A core.Writer whose sink is a syslogsink.Sink: callers never wait for
// the network, and each record is one syslog message.
func Example() {
	addr, done := collector(2)
	sink := syslogsink.New(addr, syslogsink.WithProtocol(syslogsink.TCP), syslogsink.WithFormat(syslogsink.Raw))
	w := core.New(core.WithSink(sink))
	fmt.Fprintln(w, `{"level":"info","msg":"hello"}`)
	fmt.Fprintln(w, `{"level":"warn","msg":"world"}`)
	w.Close()
	<-done
	sink.Close()
	// Output:
	// {"level":"info","msg":"hello"}
	// {"level":"warn","msg":"world"}
}

// The RFC 5424 message of a record, as a Sink in the RFC5424 format
// sends it, with the record's level as its severity.
func ExampleAppendRFC5424() {
	h := syslogsink.Header{
		Facility: syslogsink.Local0,
		Severity: syslogsink.SeverityWarning,
		Hostname: "web-1",
		AppName:  "shop",
		ProcID:   "4711",
	}
	fmt.Printf("%s\n", syslogsink.AppendRFC5424(nil, h, []byte(`{"level":"warn","msg":"slow"}`)))
	// Output:
	// <132>1 - web-1 shop 4711 - - {"level":"warn","msg":"slow"}
}

// Options for rsyslog over RELP with TLS: the collector's CA, and a
// client certificate, which rsyslog's imrelp asks for.
func ExampleWithTLS() {
	sink := syslogsink.New("logs.example.com:2514",
		syslogsink.WithTLS(nil), // a *tls.Config with RootCAs and Certificates
		syslogsink.WithFacility(syslogsink.Local0),
		syslogsink.WithAppName("shop"),
		syslogsink.WithMaxMessageSize(64<<10), // as the collector's maxMessageSize
	)
	fmt.Println(sink.Stats().Sent)
	sink.Close()
	// Output:
	// 0
}
