package lambdahost

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// DefaultMaxResponseBytes bounds a buffered response body. Lambda's
// synchronous response payload is at most 6 MB, and a binary body grows by
// a third when base64-encoded, so 4 MiB is the largest that always fits.
const DefaultMaxResponseBytes = 4 << 20

// ErrBadEvent marks an HTTP event that cannot become a request (missing
// method, malformed path, invalid base64 body). It is answered with 400,
// never passed to the app.
var ErrBadEvent = errors.New("lambdahost: malformed HTTP event")

// NewRequest converts an API Gateway v2 (or Function URL) event into the
// request the app sees, with net/http semantics:
//   - header values are kept exactly as sent; API Gateway joins repeated
//     headers with commas, which RFC 9110 §5.3 makes equivalent to the
//     separate lines for list headers, and a value that merely contains a
//     comma (a date, a quoted parameter, a tracestate) stays whole;
//   - the cookies array becomes one Cookie header, as RFC 6265 §5.4 sends;
//   - a base64 body is decoded; an invalid one is ErrBadEvent.
func NewRequest(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" || !validToken(method) {
		return nil, fmt.Errorf("%w: method %q", ErrBadEvent, method)
	}
	raw := ev.RawPath
	if raw == "" {
		raw = ev.RequestContext.HTTP.Path
	}
	if !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") {
		return nil, fmt.Errorf("%w: path must start with a single /", ErrBadEvent)
	}
	target := raw
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("%w: path: %v", ErrBadEvent, err)
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("%w: body is not valid base64", ErrBadEvent)
		}
	}
	host := ev.RequestContext.DomainName
	if h := headerValue(ev.Headers, "host"); h != "" {
		host = h
	}
	u.Scheme, u.Host = "https", host
	r, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	for k, v := range ev.Headers {
		if strings.EqualFold(k, "host") || strings.EqualFold(k, "content-length") {
			continue
		}
		if !validToken(k) {
			return nil, fmt.Errorf("%w: header name %q", ErrBadEvent, k)
		}
		r.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	r.ContentLength = int64(len(body))
	r.Host = host
	r.RequestURI = u.RequestURI()
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	return r, nil
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// validToken reports whether s is an RFC 9110 token (method, header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// ResponseWriter buffers a response for API Gateway. A handler that
// writes nothing gets net/http's answer, 200 with an empty body, rather
// than an error.
type ResponseWriter struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	limit    int
	overflow bool
}

// NewResponseWriter returns a writer that keeps at most limit body bytes
// (DefaultMaxResponseBytes when limit <= 0).
func NewResponseWriter(limit int) *ResponseWriter {
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	return &ResponseWriter{header: http.Header{}, limit: limit}
}

// Header implements http.ResponseWriter.
func (w *ResponseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter; later calls are ignored, as
// in net/http.
func (w *ResponseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

// Write implements http.ResponseWriter. Past the limit it fails, so the
// handler stops, and the response becomes a 502.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.header.Get("Content-Type") == "" && w.body.Len() == 0 && len(p) > 0 {
		// net/http sniffs the first bytes when the handler set no type.
		w.header.Set("Content-Type", http.DetectContentType(p))
	}
	if w.body.Len()+len(p) > w.limit {
		w.overflow = true
		return 0, fmt.Errorf("lambdahost: response body larger than %d bytes", w.limit)
	}
	return w.body.Write(p)
}

// Overflowed reports whether the handler wrote more than the limit.
func (w *ResponseWriter) Overflowed() bool { return w.overflow }

// Response converts what was written: Set-Cookie headers go to cookies
// (payload format 2.0 has no multi-value headers), other repeated headers
// are joined with ", ", and a body that is not text is base64-encoded.
func (w *ResponseWriter) Response() events.APIGatewayV2HTTPResponse {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{}, Cookies: []string{}}
	for k, vs := range w.header {
		if len(vs) == 0 {
			continue
		}
		if strings.EqualFold(k, "Set-Cookie") {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ", ")
	}
	b := w.body.Bytes()
	if status == http.StatusNoContent || status == http.StatusNotModified || status < 200 {
		b = nil
	}
	if len(b) > 0 && (!isText(w.header.Get("Content-Type")) || !utf8.Valid(b)) {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	} else {
		resp.Body = string(b)
	}
	return resp
}

// isText reports whether a body of this media type can travel as a JSON
// string unchanged.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded",
		mt == "application/x-ndjson", mt == "application/yaml":
		return true
	}
	return false
}
