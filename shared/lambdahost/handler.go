package lambdahost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/httpapi"
	"github.com/behalf-dev/behalf/shared/logging"
)

// Config configures a Handler.
type Config struct {
	// HTTP is the app's handler for every route (funchost.App.Handler).
	HTTP http.Handler
	// Functions are the app's function.json files by function name
	// (funchost.LoadFunctions); they say how each trigger function is
	// triggered and from which queue.
	Functions map[string]*funchost.FunctionJSON
	// Triggers are the app's queue and timer functions.
	Triggers []funchost.TriggerFunction
	// Queue receives for queue-triggered functions. Nil: their schedules
	// fail with ErrNoQueue (HTTP still works).
	Queue Receiver
	// Lookup resolves %SETTING% references in function.json (the
	// Functions host resolves them from app settings).
	Lookup func(name string) (string, bool)
	// Flush runs after every invocation, before Lambda freezes the
	// process: background work (e.g. buffered audit events) must be sent
	// by then, or it waits for the next invocation or is lost.
	Flush func(ctx context.Context) error
	// PathPrefix is the only path prefix served over HTTP (default
	// "/api/"); everything else is 404 before it reaches the app.
	PathPrefix string
	// MaxResponseBytes bounds a response body (DefaultMaxResponseBytes).
	MaxResponseBytes int
	// Drain bounds a queue drain.
	Drain  DrainConfig
	Logger *slog.Logger
	Now    func() time.Time
}

// Handler is the Lambda handler (lambda.Handler): it answers HTTP events
// and runs scheduled functions.
type Handler struct {
	cfg      Config
	log      *slog.Logger
	triggers map[string]trigger
	names    []string
}

// trigger is a trigger function with what its function.json says.
type trigger struct {
	name    string
	handler funchost.InvocationHandler
	binding funchost.Binding
	queue   string // serviceBusTrigger only
}

// Errors callers and tests branch on.
var (
	// ErrNoFunction: a schedule names no registered trigger function.
	ErrNoFunction = errors.New("lambdahost: no trigger function for this schedule")
	// ErrNoQueue: a queue function's schedule ran without a queue.
	ErrNoQueue = errors.New("lambdahost: no queue is configured for queue-triggered functions")
)

// New checks the configuration: every trigger function has a function.json
// whose trigger this package can run.
func New(cfg Config) (*Handler, error) {
	if cfg.HTTP == nil {
		return nil, errors.New("lambdahost: Config.HTTP is required")
	}
	if cfg.PathPrefix == "" {
		cfg.PathPrefix = "/" + funchost.RoutePrefix + "/"
	}
	if !strings.HasPrefix(cfg.PathPrefix, "/") || !strings.HasSuffix(cfg.PathPrefix, "/") {
		return nil, fmt.Errorf("lambdahost: PathPrefix %q must start and end with /", cfg.PathPrefix)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lookup == nil {
		cfg.Lookup = func(string) (string, bool) { return "", false }
	}
	var err error
	if cfg.Drain, err = cfg.Drain.withDefaults(); err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, triggers: map[string]trigger{}}
	for _, tf := range cfg.Triggers {
		t, err := newTrigger(tf, cfg.Functions[tf.Name], cfg.Lookup)
		if err != nil {
			return nil, err
		}
		h.triggers[tf.Name] = t
		h.names = append(h.names, tf.Name)
	}
	sort.Strings(h.names)
	return h, nil
}

func newTrigger(tf funchost.TriggerFunction, fj *funchost.FunctionJSON, lookup func(string) (string, bool)) (trigger, error) {
	if tf.Handler == nil {
		return trigger{}, fmt.Errorf("lambdahost: trigger function %s has no handler", tf.Name)
	}
	if fj == nil {
		return trigger{}, fmt.Errorf("lambdahost: trigger function %s has no function.json", tf.Name)
	}
	b, err := fj.Trigger()
	if err != nil {
		return trigger{}, err
	}
	t := trigger{name: tf.Name, handler: tf.Handler, binding: *b}
	switch strings.ToLower(b.Type) {
	case "timertrigger":
	case "servicebustrigger":
		if b.IsSessionsEnabled {
			return trigger{}, fmt.Errorf("lambdahost: %s: session-enabled queue triggers are not supported on Lambda", tf.Name)
		}
		if b.Cardinality == "many" {
			return trigger{}, fmt.Errorf("lambdahost: %s: cardinality many is not supported on Lambda", tf.Name)
		}
		if t.queue, err = resolveSetting(b.QueueName, lookup); err != nil {
			return trigger{}, fmt.Errorf("lambdahost: %s queueName: %w", tf.Name, err)
		}
		if t.queue == "" {
			return trigger{}, fmt.Errorf("lambdahost: %s: serviceBusTrigger without queueName", tf.Name)
		}
	default:
		return trigger{}, fmt.Errorf("lambdahost: %s: %s functions cannot run on Lambda", tf.Name, b.Type)
	}
	return t, nil
}

// resolveSetting expands a whole-value %NAME% reference, as the Functions
// host does for binding properties.
func resolveSetting(v string, lookup func(string) (string, bool)) (string, error) {
	if len(v) > 2 && strings.HasPrefix(v, "%") && strings.HasSuffix(v, "%") {
		name := v[1 : len(v)-1]
		val, ok := lookup(name)
		if !ok || strings.TrimSpace(val) == "" {
			return "", fmt.Errorf("setting %s is not set", name)
		}
		return strings.TrimSpace(val), nil
	}
	return v, nil
}

// Invoke implements lambda.Handler.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	kind, err := Classify(payload)
	if err != nil {
		h.log.ErrorContext(ctx, "lambda event refused", "err", err, "aws_request_id", awsRequestID(ctx))
		return nil, err
	}
	var out any
	switch kind {
	case KindHTTP:
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnknownEvent, err)
		}
		resp := h.ServeEvent(ctx, &ev)
		out = &resp
	case KindSchedule:
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnknownEvent, err)
		}
		res, err := h.RunSchedule(ctx, &ev)
		h.flush(ctx)
		if err != nil {
			return nil, err
		}
		out = res
	}
	return json.Marshal(out)
}

// ServeEvent answers one HTTP event. Problems with the event itself are
// answered as HTTP errors (a Lambda error would reach the caller as an
// opaque 500 from API Gateway).
func (h *Handler) ServeEvent(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	w := NewResponseWriter(h.cfg.MaxResponseBytes)
	r, err := NewRequest(ctx, ev)
	switch {
	case err != nil:
		h.edgeError(ctx, w, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeBadRequest, "the request could not be read: %s", strings.TrimPrefix(err.Error(), ErrBadEvent.Error()+": ")))
	case !strings.HasPrefix(r.URL.Path, h.cfg.PathPrefix):
		h.edgeError(ctx, w, httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "no function serves this path; see README.md for the routes"))
	default:
		h.cfg.HTTP.ServeHTTP(w, r)
	}
	h.flush(ctx)
	if w.Overflowed() {
		h.log.ErrorContext(ctx, "response too large for Lambda", "limit", w.limit, "aws_request_id", awsRequestID(ctx))
		w = NewResponseWriter(h.cfg.MaxResponseBytes)
		h.edgeError(ctx, w, httpapi.Errorf(http.StatusBadGateway, httpapi.CodeUpstreamFailed, "the answer is larger than Lambda can return; ask for fewer rows"))
	}
	return w.Response()
}

// edgeError answers without the app, with the app's error shape and a
// request id.
func (h *Handler) edgeError(ctx context.Context, w *ResponseWriter, e *httpapi.Error) {
	id := httpapi.NewID()
	ctx = logging.WithRequestID(ctx, id)
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/", http.NoBody)
	w.Header().Set(httpapi.RequestIDHeader, id)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteError(w, r, e)
}

func (h *Handler) flush(ctx context.Context) {
	if h.cfg.Flush == nil {
		return
	}
	if err := h.cfg.Flush(ctx); err != nil {
		h.log.ErrorContext(ctx, "flush after invocation failed", "err", err, "aws_request_id", awsRequestID(ctx))
	}
}

// TriggerNames lists the functions schedules can run.
func (h *Handler) TriggerNames() []string { return append([]string(nil), h.names...) }

func awsRequestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}
