package otlpsink_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/asynclog/asynclog/core"
	"github.com/asynclog/asynclog/otlpsink"
)

func Example() {
	// A stand-in for the collector's OTLP/HTTP receiver, which would be
	// "http://127.0.0.1:4318".
	collector := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer collector.Close()

	sink := otlpsink.New(collector.URL,
		otlpsink.WithResource(otlpsink.Attr{Key: "service.name", Value: "checkout"}),
		otlpsink.WithHeaders(map[string]string{"Authorization": "Bearer token"}))
	w := core.New(core.WithSink(sink))
	logger := slog.New(slog.NewJSONHandler(w, nil))

	// One LogRecord: body "order placed", severity INFO (9), attributes
	// order (an int) and items (an array).
	logger.Info("order placed", "order", 1234, "items", []string{"book", "pen"})

	_ = w.Close()    // sends what is buffered
	_ = sink.Close() // then stops the sink
	fmt.Printf("%+v\n", sink.Stats())
	// Output:
	// {Sent:1 Accepted:1 Rejected:0 Lost:0 Unrepresentable:0 Requests:1 Retries:0 Splits:0}
}
