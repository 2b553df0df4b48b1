package servicebus

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"
	"github.com/behalf-dev/behalf/shared/queue"
	"github.com/behalf-dev/behalf/shared/queue/queuetest"
)

const (
	envNamespace        = "BEHALF_TEST_SERVICEBUS_NAMESPACE"
	envConnectionString = "BEHALF_TEST_SERVICEBUS_CONNECTION_STRING"
)

// TestContract runs the queue contract suite against a real namespace.
// Each case creates its own temporary queues (admin API, so the
// credential needs the Manage right or "Azure Service Bus Data Owner")
// and deletes them afterwards; queues left by a killed run delete
// themselves after an hour idle.
func TestContract(t *testing.T) {
	ns, cs := os.Getenv(envNamespace), os.Getenv(envConnectionString)
	if ns == "" && cs == "" {
		t.Skipf("set %s (with an azidentity DefaultAzureCredential) or %s to run the queue contract suite against Azure Service Bus", envNamespace, envConnectionString)
	}
	f := &sbFactory{namespace: ns, connectionString: cs}
	if cs == "" {
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			t.Fatalf("DefaultAzureCredential: %v", err)
		}
		f.cred = cred
	}
	var err error
	if cs != "" {
		f.admin, err = admin.NewClientFromConnectionString(cs, nil)
	} else {
		f.admin, err = admin.NewClient(ns, f.cred, nil)
	}
	if err != nil {
		t.Fatalf("admin client: %v", err)
	}
	queuetest.Run(t, f)
}

type sbFactory struct {
	namespace        string
	connectionString string
	cred             azcore.TokenCredential
	admin            *admin.Client
}

// Timing: Service Bus' shortest lock is 5 s; expired messages move when
// a receiver asks, which may take a moment more.
func (*sbFactory) Timing() queuetest.Timing {
	return queuetest.Timing{Lock: 5 * time.Second, TTL: 2 * time.Second, Slack: 3 * time.Second,
		Wait: 20 * time.Second, Empty: 2 * time.Second}
}

func (f *sbFactory) Open(t testing.TB, specs ...queuetest.QueueSpec) queue.Queues {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var declared []Queue
	for _, s := range specs {
		props := queueProperties(s)
		if _, err := f.admin.CreateQueue(ctx, s.Name, &admin.CreateQueueOptions{Properties: props}); err != nil {
			t.Fatalf("create queue %s: %v", s.Name, err)
		}
		name := s.Name
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := f.admin.DeleteQueue(ctx, name, nil); err != nil {
				t.Errorf("delete queue %s: %v", name, err)
			}
		})
		declared = append(declared, Queue{Name: s.Name, Sessions: s.Sessions})
	}
	cfg := Config{Queues: declared, Logger: nil}
	if f.connectionString != "" {
		cfg.ConnectionString = f.connectionString
	} else {
		cfg.Namespace, cfg.Credential = f.namespace, f.cred
	}
	q, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := q.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return q
}

func queueProperties(s queuetest.QueueSpec) *admin.QueueProperties {
	p := &admin.QueueProperties{
		RequiresSession:                  &s.Sessions,
		DeadLetteringOnMessageExpiration: &s.DeadLetterOnExpiry,
		RequiresDuplicateDetection:       &s.DuplicateDetection,
		AutoDeleteOnIdle:                 isoDuration(time.Hour),
	}
	if s.LockDuration > 0 {
		p.LockDuration = isoDuration(s.LockDuration)
	}
	if s.DefaultTTL > 0 {
		p.DefaultMessageTimeToLive = isoDuration(s.DefaultTTL)
	}
	if s.MaxDeliveries > 0 {
		n := int32(s.MaxDeliveries)
		p.MaxDeliveryCount = &n
	}
	if s.DuplicateDetection {
		p.DuplicateDetectionHistoryTimeWindow = isoDuration(10 * time.Minute)
	}
	return p
}

// isoDuration writes d as the ISO 8601 duration the admin API takes.
func isoDuration(d time.Duration) *string {
	s := fmt.Sprintf("PT%sS", strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
	return &s
}

func TestISODuration(t *testing.T) {
	for d, want := range map[time.Duration]string{5 * time.Second: "PT5S", time.Hour: "PT3600S", 1500 * time.Millisecond: "PT1.5S"} {
		if got := *isoDuration(d); got != want {
			t.Errorf("isoDuration(%v) = %s, want %s", d, got, want)
		}
	}
}
