// Package servicebus is behalf's queue in Azure Service Bus
// (azservicebus over AMQP): the pending-operations queue with one session
// per operation and its decisions in the session state, and the audit
// queue. It maps package queue's interface onto the SDK one to one; the
// semantics are the broker's own, and the embedded queue copies them.
//
// The credential is an azcore.TokenCredential (managed identity through
// azidentity in Azure); a connection string is accepted for development
// (including the Service Bus emulator). Queues are created by deployment
// (bicep), not here.
package servicebus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/behalf-dev/behalf/shared/queue"
)

// minWait is the shortest wait a receive uses: the broker cannot answer
// without a round trip, so a shorter (or zero) wait would never see a
// message that is there.
const minWait = time.Second

// receiversPerQueue bounds the AMQP receive links one queue opens; a
// link serves one ReceiveMessages call at a time, so concurrent receivers
// of one queue each borrow one.
const receiversPerQueue = 8

// Queue declares a queue's kind, so that messages are checked before they
// leave: Service Bus itself silently ignores a session id sent to a queue
// without sessions.
type Queue struct {
	Name     string
	Sessions bool
}

// Config configures New. Give either Namespace and Credential, or
// ConnectionString.
type Config struct {
	// Namespace is the fully qualified namespace, e.g.
	// behalf-prod.servicebus.windows.net.
	Namespace  string
	Credential azcore.TokenCredential
	// ConnectionString is the development alternative (a SAS key, or the
	// emulator's UseDevelopmentEmulator=true). It is never logged.
	ConnectionString string
	// Queues, when given, are the only queues this namespace serves
	// (others are ErrUnknownQueue) and say which have sessions. When
	// empty, any name goes to the broker, and a batch's session rule is
	// taken from its first message.
	Queues []Queue
	Logger *slog.Logger
}

// Queues is a Service Bus namespace. It is safe for concurrent use.
type Queues struct {
	client *azservicebus.Client
	log    *slog.Logger
	kinds  map[string]bool // queue name → sessions; nil when undeclared

	mu        sync.Mutex
	closed    bool
	senders   map[string]*azservicebus.Sender
	receivers map[receiverKey]*pool
	sessions  map[*session]struct{}
}

var _ queue.Queues = (*Queues)(nil)

type receiverKey struct {
	queue string
	dead  bool
}

// New builds the client; it connects lazily, on first use.
func New(cfg Config) (*Queues, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	opts := &azservicebus.ClientOptions{ApplicationID: "behalf"}
	var client *azservicebus.Client
	var err error
	switch {
	case cfg.ConnectionString != "" && (cfg.Namespace != "" || cfg.Credential != nil):
		return nil, errors.New("servicebus: give either Namespace and Credential, or ConnectionString, not both")
	case cfg.ConnectionString != "":
		client, err = azservicebus.NewClientFromConnectionString(cfg.ConnectionString, opts)
		if err != nil {
			// The SDK's parse errors name keys, never values.
			return nil, fmt.Errorf("servicebus: connection string: %w", err)
		}
	case cfg.Namespace == "" || cfg.Credential == nil:
		return nil, errors.New("servicebus: Namespace and Credential are required (or ConnectionString for development)")
	default:
		if err := checkNamespace(cfg.Namespace); err != nil {
			return nil, err
		}
		client, err = azservicebus.NewClient(cfg.Namespace, cfg.Credential, opts)
		if err != nil {
			return nil, fmt.Errorf("servicebus: %w", err)
		}
	}
	q := &Queues{client: client, log: cfg.Logger, senders: map[string]*azservicebus.Sender{},
		receivers: map[receiverKey]*pool{}, sessions: map[*session]struct{}{}}
	if len(cfg.Queues) > 0 {
		q.kinds = make(map[string]bool, len(cfg.Queues))
		for _, d := range cfg.Queues {
			if d.Name == "" {
				return nil, errors.New("servicebus: a declared queue has no name")
			}
			if _, dup := q.kinds[d.Name]; dup {
				return nil, fmt.Errorf("servicebus: queue %q declared twice", d.Name)
			}
			q.kinds[d.Name] = d.Sessions
		}
	}
	return q, nil
}

// checkNamespace insists on a bare host name: a URL or a connection
// string in the wrong field is a configuration mistake worth naming.
func checkNamespace(ns string) error {
	switch {
	case strings.Contains(ns, "://"), strings.Contains(ns, "/"):
		return fmt.Errorf("servicebus: Namespace %q must be a host name (e.g. behalf.servicebus.windows.net), not a URL", ns)
	case strings.Contains(ns, ";") || strings.Contains(ns, "="):
		return errors.New("servicebus: Namespace looks like a connection string; use ConnectionString")
	case !strings.Contains(ns, ".") || len(ns) > 253:
		return fmt.Errorf("servicebus: Namespace %q must be fully qualified (e.g. behalf.servicebus.windows.net)", ns)
	}
	return nil
}

// kind returns whether the queue has sessions; known is false when the
// queues were not declared.
func (q *Queues) kind(name string) (sessions, known bool, err error) {
	if name == "" {
		return false, false, fmt.Errorf("%w: empty queue name", queue.ErrUnknownQueue)
	}
	if q.kinds == nil {
		return false, false, nil
	}
	s, ok := q.kinds[name]
	if !ok {
		return false, false, fmt.Errorf("%w: %q", queue.ErrUnknownQueue, name)
	}
	return s, true, nil
}

func (q *Queues) sender(name string) (*azservicebus.Sender, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, queue.ErrClosed
	}
	if s, ok := q.senders[name]; ok {
		return s, nil
	}
	s, err := q.client.NewSender(name, nil)
	if err != nil {
		return nil, mapErr(err)
	}
	q.senders[name] = s
	return s, nil
}

// Send sends the messages as one batch: all or nothing.
func (q *Queues) Send(ctx context.Context, name string, msgs ...queue.Message) error {
	sessions, known, err := q.kind(name)
	if err != nil {
		return err
	}
	if !known && len(msgs) > 0 {
		sessions = msgs[0].SessionID != ""
	}
	prepared, err := queue.PrepareBatch(msgs, sessions)
	if err != nil {
		return err
	}
	s, err := q.sender(name)
	if err != nil {
		return err
	}
	batch, err := s.NewMessageBatch(ctx, nil)
	if err != nil {
		return fmt.Errorf("servicebus: send to %q: %w", name, mapErr(err))
	}
	for i := range prepared {
		if err := batch.AddMessage(toSB(&prepared[i]), nil); err != nil {
			if errors.Is(err, azservicebus.ErrMessageTooLarge) {
				return fmt.Errorf("%w: the batch does not fit in one Service Bus message (at message %d): send fewer at a time", queue.ErrInvalidMessage, i)
			}
			return fmt.Errorf("servicebus: send to %q: %w", name, mapErr(err))
		}
	}
	if err := s.SendMessageBatch(ctx, batch, nil); err != nil {
		return fmt.Errorf("servicebus: send to %q: %w", name, mapErr(err))
	}
	return nil
}

// Close closes every sender, receiver and session, and the connection.
func (q *Queues) Close(ctx context.Context) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	open := make([]*session, 0, len(q.sessions))
	for s := range q.sessions {
		open = append(open, s)
	}
	q.mu.Unlock()
	var errs []error
	for _, s := range open {
		if err := s.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	// The client closes its senders and receivers with the connection.
	if err := q.client.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("servicebus: close: %w", err))
	}
	return errors.Join(errs...)
}

func (q *Queues) track(s *session, open bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if open {
		if q.closed {
			return queue.ErrClosed
		}
		q.sessions[s] = struct{}{}
	} else {
		delete(q.sessions, s)
	}
	return nil
}

// boundedWait derives the receive context: wait (at least minWait) and
// the caller's ctx, whichever ends first.
func boundedWait(ctx context.Context, wait time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, max(wait, minWait))
}

// waitEnded reports whether err only says the bounded wait ran out while
// the caller's ctx is still live: no message (or session) came in time.
func waitEnded(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var sbErr *azservicebus.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		(errors.As(err, &sbErr) && sbErr.Code == azservicebus.CodeTimeout)
}
