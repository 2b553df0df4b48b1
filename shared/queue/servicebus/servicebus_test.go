package servicebus

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/go-amqp"
	"github.com/behalf-dev/behalf/shared/queue"
)

// noCredential fails every token request: the tests below must never
// reach the network.
type noCredential struct{}

func (noCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errors.New("test credential: no tokens")
}

const devConnectionString = "Endpoint=sb://behalf-test.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0LWtleS12YWx1ZQ=="

func TestNewValidates(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string // "" means New succeeds
	}{
		{"managed identity", Config{Namespace: "behalf.servicebus.windows.net", Credential: noCredential{}}, ""},
		{"connection string", Config{ConnectionString: devConnectionString}, ""},
		{"nothing", Config{}, "Namespace and Credential are required"},
		{"namespace without credential", Config{Namespace: "behalf.servicebus.windows.net"}, "Namespace and Credential are required"},
		{"both", Config{Namespace: "behalf.servicebus.windows.net", Credential: noCredential{}, ConnectionString: devConnectionString}, "not both"},
		{"url", Config{Namespace: "sb://behalf.servicebus.windows.net/", Credential: noCredential{}}, "not a URL"},
		{"short name", Config{Namespace: "behalf", Credential: noCredential{}}, "fully qualified"},
		{"connection string as namespace", Config{Namespace: "Endpoint=x;SharedAccessKey=abc", Credential: noCredential{}}, "use ConnectionString"},
		{"bad connection string", Config{ConnectionString: "SharedAccessKey=TOPSECRET;SharedAccessKeyName=k"}, "connection string"},
		{"queue declared twice", Config{ConnectionString: devConnectionString, Queues: []Queue{{Name: "a"}, {Name: "a"}}}, "twice"},
		{"queue without name", Config{ConnectionString: devConnectionString, Queues: []Queue{{}}}, "no name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := New(c.cfg)
			if c.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				q.Close(context.Background())
				return
			}
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
			if strings.Contains(err.Error(), "TOPSECRET") || strings.Contains(err.Error(), "abc") {
				t.Fatalf("error echoes a secret: %q", err)
			}
		})
	}
}

// Checks that need no broker: they fail before anything is sent.
func TestLocalChecks(t *testing.T) {
	q, err := New(Config{ConnectionString: devConnectionString, Queues: []Queue{{Name: "audit"}, {Name: "pending", Sessions: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	ctx := context.Background()
	checks := []struct {
		name string
		err  error
		want error
	}{
		{"unknown queue", q.Send(ctx, "nope", queue.Message{}), queue.ErrUnknownQueue},
		{"session id on audit", q.Send(ctx, "audit", queue.Message{SessionID: "s"}), queue.ErrInvalidMessage},
		{"no session id on pending", q.Send(ctx, "pending", queue.Message{}), queue.ErrInvalidMessage},
		{"too large", q.Send(ctx, "audit", queue.Message{Body: make([]byte, queue.MaxMessageBytes)}), queue.ErrInvalidMessage},
		{"no messages", q.Send(ctx, "audit"), queue.ErrInvalidMessage},
		{"receive on a session queue", second(q.Receive(ctx, "pending", 1, time.Second)), queue.ErrInvalidArgument},
		{"receive count", second(q.Receive(ctx, "audit", 0, time.Second)), queue.ErrInvalidArgument},
		{"receive from unknown", second(q.ReceiveDeadLetters(ctx, "nope", 1, time.Second)), queue.ErrUnknownQueue},
		{"accept on a plain queue", second(q.AcceptSession(ctx, "audit", "s")), queue.ErrInvalidArgument},
		{"accept an empty session id", second(q.AcceptSession(ctx, "pending", "")), queue.ErrInvalidArgument},
		{"accept next wait", second(q.AcceptNextSession(ctx, "pending", time.Hour)), queue.ErrInvalidArgument},
	}
	for _, c := range checks {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	if err := q.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := q.Send(ctx, "audit", queue.Message{}); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestMapErr(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"session cannot be locked", &amqp.Error{Condition: condSessionCannotBeLocked}, queue.ErrSessionLocked},
		{"session cannot be locked on a link", &amqp.LinkError{RemoteErr: &amqp.Error{Condition: condSessionCannotBeLocked}}, queue.ErrSessionLocked},
		{"session lock lost", &amqp.Error{Condition: condSessionLockLost}, queue.ErrLockLost},
		{"message lock lost", &amqp.Error{Condition: condMessageLockLost}, queue.ErrLockLost},
		{"sdk lock lost", &azservicebus.Error{Code: azservicebus.CodeLockLost}, queue.ErrLockLost},
		{"sdk not found", &azservicebus.Error{Code: azservicebus.CodeNotFound}, queue.ErrUnknownQueue},
		{"amqp not found", &amqp.LinkError{RemoteErr: &amqp.Error{Condition: amqp.ErrCondNotFound}}, queue.ErrUnknownQueue},
		{"entity not found", &amqp.Error{Condition: condEntityNotFound}, queue.ErrUnknownQueue},
		{"too large", &amqp.Error{Condition: amqp.ErrCondMessageSizeExceeded}, queue.ErrInvalidMessage},
		{"closed", &azservicebus.Error{Code: azservicebus.CodeClosed}, queue.ErrClosed},
	}
	for _, c := range cases {
		got := mapErr(c.err)
		if !errors.Is(got, c.want) {
			t.Errorf("%s: mapErr = %v, want %v", c.name, got, c.want)
		}
		// The SDK error stays reachable for its detail.
		if !errors.Is(got, c.err) {
			t.Errorf("%s: the original error is no longer wrapped", c.name)
		}
	}
	other := errors.New("connection reset")
	if got := mapErr(other); got != other {
		t.Errorf("unmapped error changed: %v", got)
	}
	if mapErr(nil) != nil {
		t.Error("mapErr(nil) != nil")
	}
	once := mapErr(&azservicebus.Error{Code: azservicebus.CodeLockLost})
	if twice := mapErr(once); twice != once {
		t.Errorf("mapping twice changed the error: %v", twice)
	}
}

func TestSessionErr(t *testing.T) {
	// Inside a held session, "cannot be locked" means it went to another
	// receiver: the caller lost its lock.
	got := sessionErr(&amqp.Error{Condition: condSessionCannotBeLocked})
	if !errors.Is(got, queue.ErrLockLost) || errors.Is(got, queue.ErrSessionLocked) {
		t.Fatalf("sessionErr = %v", got)
	}
	if got := sessionErr(&azservicebus.Error{Code: azservicebus.CodeLockLost}); !errors.Is(got, queue.ErrLockLost) {
		t.Fatalf("sessionErr(lock lost) = %v", got)
	}
}

func TestWaitEnded(t *testing.T) {
	live := context.Background()
	dead, cancel := context.WithCancel(context.Background())
	cancel()
	if !waitEnded(live, context.DeadlineExceeded) || !waitEnded(live, &azservicebus.Error{Code: azservicebus.CodeTimeout}) {
		t.Error("a lapsed wait is not recognized")
	}
	if waitEnded(dead, context.Canceled) {
		t.Error("the caller's cancellation was taken for an empty wait")
	}
	if waitEnded(live, errors.New("boom")) {
		t.Error("an error was taken for an empty wait")
	}
}

func TestToSB(t *testing.T) {
	m := queue.Message{ID: "op-1", SessionID: "op-1", Body: []byte("b"), ContentType: "application/json", Subject: "s",
		Properties: map[string]any{"k": int64(1)}, TTL: time.Hour}
	got := toSB(&m)
	if *got.MessageID != "op-1" || *got.SessionID != "op-1" || *got.ContentType != "application/json" || *got.Subject != "s" ||
		*got.TimeToLive != time.Hour || string(got.Body) != "b" || got.ApplicationProperties["k"] != int64(1) {
		t.Fatalf("toSB = %+v", got)
	}
	bare := toSB(&queue.Message{ID: "x"})
	if bare.SessionID != nil || bare.ContentType != nil || bare.Subject != nil || bare.TimeToLive != nil {
		t.Fatalf("empty fields were sent: %+v", bare)
	}
}

func TestFromSB(t *testing.T) {
	enq := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ttl := 10 * time.Minute
	exp := enq.Add(ttl)
	lock := enq.Add(time.Minute)
	seq := int64(77)
	str := func(s string) *string { return &s }
	forever := time.Duration(math.MaxInt64)
	cases := []struct {
		name string
		in   azservicebus.ReceivedMessage
		want queue.Received
	}{
		{"full", azservicebus.ReceivedMessage{MessageID: "m", SessionID: str("s"), Body: []byte("b"), ContentType: str("ct"), Subject: str("sub"),
			ApplicationProperties: map[string]any{"i32": int32(5), "f32": float32(1.5), "s": "v", "b": true},
			DeliveryCount:         2, SequenceNumber: &seq, EnqueuedTime: &enq, TimeToLive: &ttl, ExpiresAt: &exp, LockedUntil: &lock},
			queue.Received{Message: queue.Message{ID: "m", SessionID: "s", Body: []byte("b"), ContentType: "ct", Subject: "sub",
				Properties: map[string]any{"i32": int64(5), "f32": float64(1.5), "s": "v", "b": true}, TTL: ttl},
				SequenceNumber: 77, DeliveryCount: 2, EnqueuedAt: enq, ExpiresAt: exp, LockedUntil: lock}},
		{"no ttl", azservicebus.ReceivedMessage{MessageID: "m", TimeToLive: &forever, ExpiresAt: &exp, EnqueuedTime: &enq},
			queue.Received{Message: queue.Message{ID: "m"}, EnqueuedAt: enq}},
		{"zero ttl", azservicebus.ReceivedMessage{MessageID: "m", TimeToLive: new(time.Duration), ExpiresAt: &enq, EnqueuedTime: &enq},
			queue.Received{Message: queue.Message{ID: "m"}, EnqueuedAt: enq}},
		{"dead letter", azservicebus.ReceivedMessage{MessageID: "m", DeadLetterReason: str(queue.ReasonTTLExpired), DeadLetterErrorDescription: str("d"),
			ApplicationProperties: map[string]any{propDLReason: queue.ReasonTTLExpired, propDLDescription: "d", "k": "v"}},
			queue.Received{Message: queue.Message{ID: "m", Properties: map[string]any{"k": "v"}}, DeadLetterReason: queue.ReasonTTLExpired, DeadLetterDescription: "d"}},
		{"dead letter without own properties", azservicebus.ReceivedMessage{MessageID: "m", DeadLetterReason: str("r"),
			ApplicationProperties: map[string]any{propDLReason: "r"}},
			queue.Received{Message: queue.Message{ID: "m"}, DeadLetterReason: "r"}},
	}
	for _, c := range cases {
		if got := fromSB(&c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}
