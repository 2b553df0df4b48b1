package queue

import (
	"context"
	"maps"
	"time"

	"github.com/behalf-dev/behalf/shared/funchost"
)

// DriverSource lets the local trigger driver (funchost.Driver) pump q the
// way the Functions host pumps Service Bus: one peek-locked message at a
// time, completed when the function succeeds and abandoned when it fails
// (so it is redelivered and, after the queue's maximum deliveries,
// dead-lettered). Only queues without sessions can be pumped, as with
// the host's non-session trigger.
func DriverSource(q Queues) funchost.QueueSource { return driverSource{q} }

type driverSource struct{ q Queues }

func (s driverSource) Receive(ctx context.Context, queue string, wait time.Duration) (*funchost.Delivery, error) {
	ds, err := s.q.Receive(ctx, queue, 1, wait)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	d := ds[0]
	return &funchost.Delivery{Message: ToServiceBusMessage(d.Message()), Settle: func(ctx context.Context, ok bool) error {
		if ok {
			return d.Complete(ctx)
		}
		return d.Abandon(ctx)
	}}, nil
}

// ToServiceBusMessage is r as the Functions host describes a Service Bus
// trigger message. LockToken stays empty: settlement goes through the
// Delivery, never through a token the function could replay.
func ToServiceBusMessage(r *Received) *funchost.ServiceBusMessage {
	return &funchost.ServiceBusMessage{
		Body:                  r.Body,
		MessageID:             r.ID,
		SessionID:             r.SessionID,
		ContentType:           r.ContentType,
		Subject:               r.Subject,
		DeliveryCount:         int64(r.DeliveryCount),
		SequenceNumber:        r.SequenceNumber,
		EnqueuedTime:          r.EnqueuedAt,
		ExpiresAt:             r.ExpiresAt,
		ApplicationProperties: maps.Clone(r.Properties),
	}
}
