// Package auditwriter is the edge of the audit-writer function: a Service
// Bus queue trigger (queue "audit") that decodes a batch of audit events
// and appends it to the audit store, idempotently by event id.
//
// Outcomes, as the host sees them:
//   - stored (or already stored): 200, the message is completed;
//   - the store failed: an error, so the host abandons the message and
//     Service Bus redelivers it; after the queue's max deliveries it is
//     dead-lettered, and the writer counts it (WriterStats.DeadLettered);
//   - poison — a body that is not a batch, or events that fail validation:
//     they must not block the good events forever, and must not vanish
//     either. The good events are stored, and each bad one is replaced by
//     a rejection record (action audit.event_rejected, status error,
//     target.event_id = the bad event's id when readable) in the same
//     append, so the chain itself shows that an event was refused. The
//     rejection's id derives from the message id, position and body, so a
//     redelivery does not record it twice. The reason is logged, never the
//     event's content.
package auditwriter

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/behalf-dev/behalf/shared/audit"
	"github.com/behalf-dev/behalf/shared/funchost"
)

// Name is the function (folder) name; Binding is the trigger's name.
const (
	Name    = "audit-writer"
	Binding = "msg"
)

// Rejection records.
const (
	ActionRejected    = "audit.event_rejected"
	CodeInvalidEvent  = "INVALID_AUDIT_EVENT"
	CodeInvalidBatch  = "INVALID_AUDIT_BATCH"
	defaultDeliveries = 10
)

// rejectionSpace namespaces rejection record ids (UUID v5).
var rejectionSpace = uuid.MustParse("6f1c2b3a-9d8e-5f47-a1b2-c3d4e5f60718")

var safeMessageID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// Config configures the function.
type Config struct {
	Store audit.Appender
	// Stats counts outcomes for /api/health (one per process; optional).
	Stats *audit.WriterStats
	// MaxDeliveries is the audit queue's max delivery count (default 10).
	MaxDeliveries int
	Logger        *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
}

// Function returns the trigger function.
func Function(cfg Config) funchost.TriggerFunction {
	if cfg.Stats == nil {
		cfg.Stats = &audit.WriterStats{}
	}
	if cfg.MaxDeliveries <= 0 {
		cfg.MaxDeliveries = defaultDeliveries
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return funchost.TriggerFunction{Name: Name, Handler: (&writer{cfg: cfg}).handle}
}

type writer struct{ cfg Config }

func (w *writer) handle(ctx context.Context, inv *funchost.Invocation) (*funchost.InvocationResult, error) {
	if w.cfg.Store == nil {
		return nil, fmt.Errorf("%s: no audit store is configured", Name)
	}
	msg, err := funchost.DecodeServiceBus(inv, Binding)
	if err != nil {
		return nil, err
	}
	events, rejected := w.events(ctx, msg)
	res, err := w.cfg.Store.Append(ctx, events)
	if err != nil {
		last := msg.DeliveryCount >= int64(w.cfg.MaxDeliveries)
		w.cfg.Stats.Failure(last)
		if last {
			w.cfg.Logger.ErrorContext(ctx, "audit events could not be stored on their last delivery; the queue dead-letters them",
				"message_id", msg.MessageID, "events", len(events), "delivery", msg.DeliveryCount, "err", err)
		}
		return nil, fmt.Errorf("%s: store %d events of message %s (delivery %d): %w", Name, len(events), msg.MessageID, msg.DeliveryCount, err)
	}
	w.cfg.Stats.Handled(res.Appended, res.Duplicates, rejected)
	return &funchost.InvocationResult{Logs: []string{fmt.Sprintf("message %s: %d stored, %d already stored, %d rejected; head seq %d",
		msg.MessageID, res.Appended, res.Duplicates, rejected, res.Head.Seq)}}, nil
}

// events decodes the batch, replacing what cannot be stored with
// rejection records.
func (w *writer) events(ctx context.Context, msg *funchost.ServiceBusMessage) ([]audit.Event, int) {
	batch, err := audit.DecodeBatch(msg.Body)
	if err != nil {
		w.cfg.Logger.WarnContext(ctx, "audit message is not a batch; recording its rejection", "message_id", msg.MessageID, "reason", err)
		return []audit.Event{w.rejection(msg, -1, "", CodeInvalidBatch)}, 1
	}
	events := batch.Events
	for _, bad := range batch.Invalid {
		w.cfg.Logger.WarnContext(ctx, "audit event refused; recording its rejection", "message_id", msg.MessageID, "index", bad.Index,
			"event_id", bad.ID, "reason", bad.Reason)
		events = append(events, w.rejection(msg, bad.Index, bad.ID, CodeInvalidEvent))
	}
	return events, len(batch.Invalid)
}

func (w *writer) rejection(msg *funchost.ServiceBusMessage, index int, eventID, code string) audit.Event {
	body := sha256.Sum256(msg.Body)
	key := msg.MessageID + "\x00" + strconv.FormatInt(msg.SequenceNumber, 10) + "\x00" + strconv.Itoa(index) + "\x00" + string(body[:])
	if msg.MessageID != "" {
		key = msg.MessageID + "\x00" + strconv.Itoa(index) + "\x00" + string(body[:])
	}
	at := msg.EnqueuedTime
	if at.IsZero() {
		at = w.cfg.Now()
	}
	ev := audit.Event{ID: uuid.NewSHA1(rejectionSpace, []byte(key)).String(), Time: at, Function: Name, Action: ActionRejected,
		Status: audit.StatusError, ErrorCode: code, Target: audit.Target{EventID: eventID}}
	if safeMessageID.MatchString(msg.MessageID) {
		ev.RequestID = msg.MessageID
	}
	return ev
}
