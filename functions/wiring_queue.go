package main

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/behalf-dev/behalf/shared/config"
	"github.com/behalf-dev/behalf/shared/queue"
	"github.com/behalf-dev/behalf/shared/queue/embedded"
	"github.com/behalf-dev/behalf/shared/queue/servicebus"
)

// Pending operations are read and decided on many times before they end;
// those visits never count as deliveries (a session is closed, not
// abandoned), so the limit only catches a message that keeps failing.
const pendingMaxDeliveries = 100

// newQueues opens the queue namespace behalf's functions send to and
// receive from: Service Bus through the managed identity in Azure (a
// connection string for development and AWS), or the embedded SQLite
// queue for the standalone server and the dev stack.
func newQueues(ctx context.Context, cfg *config.Config) (queue.Queues, error) {
	q := cfg.Queue
	switch q.Kind {
	case "servicebus":
		sc := servicebus.Config{ConnectionString: q.ConnectionString,
			Queues: []servicebus.Queue{{Name: q.PendingQueue, Sessions: true}, {Name: q.AuditQueue}}}
		if q.ConnectionString == "" {
			cred, err := managedIdentity(cfg.Identity.ManagedIdentityClientID)
			if err != nil {
				return nil, err
			}
			sc.Namespace, sc.Credential = q.Namespace, cred
		}
		return servicebus.New(sc)
	default:
		return embedded.Open(ctx, embedded.Config{Path: q.Path, Queues: embeddedLayout(cfg)})
	}
}

// embeddedLayout is the embedded queue's equivalent of what bicep creates
// in Service Bus: the session-enabled pending queue whose messages live
// for the approval window and dead-letter on expiry, and the audit queue.
func embeddedLayout(cfg *config.Config) []embedded.QueueConfig {
	return []embedded.QueueConfig{
		{Name: cfg.Queue.PendingQueue, Sessions: true, DefaultTTL: cfg.SQL.ApprovalWindow, DeadLetterOnExpiry: true,
			MaxDeliveries: pendingMaxDeliveries, LockDuration: time.Minute},
		{Name: cfg.Queue.AuditQueue, MaxDeliveries: 10, LockDuration: time.Minute},
	}
}

func managedIdentity(clientID string) (azcore.TokenCredential, error) {
	opts := &azidentity.ManagedIdentityCredentialOptions{}
	if clientID != "" {
		opts.ID = azidentity.ClientID(clientID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		return nil, fmt.Errorf("managed identity: %w", err)
	}
	return cred, nil
}
