package lambdahost

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/logging"
	"github.com/behalf-dev/behalf/shared/queue"
)

// Receiver is the one queue operation a drain needs; queue.Queues
// satisfies it.
type Receiver interface {
	Receive(ctx context.Context, queue string, max int, wait time.Duration) ([]queue.Delivery, error)
}

// DrainConfig bounds one drain of a queue.
type DrainConfig struct {
	// Batch is the most messages received at once (default 16, at most
	// 256). Each batch is handled before its peek-locks run out, so keep
	// it small next to the queue's lock duration.
	Batch int
	// MaxMessages is the most messages one invocation handles (default
	// 1000); the next schedule tick goes on.
	MaxMessages int
	// Wait is how long a receive waits for the first message (default 1s);
	// an empty receive ends the drain.
	Wait time.Duration
	// Reserve is the time kept back before the invocation's deadline
	// (default 15s): no batch is started later than that.
	Reserve time.Duration
}

func (d DrainConfig) withDefaults() (DrainConfig, error) {
	if d.Batch == 0 {
		d.Batch = 16
	}
	if d.MaxMessages == 0 {
		d.MaxMessages = 1000
	}
	if d.Wait == 0 {
		d.Wait = time.Second
	}
	if d.Reserve == 0 {
		d.Reserve = 15 * time.Second
	}
	if d.Batch < 1 || d.Batch > 256 || d.MaxMessages < 1 || d.Wait < 0 || d.Reserve < 0 {
		return d, fmt.Errorf("lambdahost: drain bounds out of range: %+v", d)
	}
	return d, nil
}

// ScheduleResult is a scheduled invocation's answer (shown in the Lambda
// console and logs).
type ScheduleResult struct {
	Function string `json:"function"`
	Rule     string `json:"rule"`
	// Kind is timer or queue.
	Kind string `json:"kind"`
	// Queue drains only.
	Queue     string `json:"queue,omitempty"`
	Received  int    `json:"received"`
	Completed int    `json:"completed"`
	Abandoned int    `json:"abandoned"`
	// Stopped says why a drain ended: empty, max-messages or deadline.
	Stopped string `json:"stopped,omitempty"`
}

// RunSchedule runs the trigger function the event's rule names.
func (h *Handler) RunSchedule(ctx context.Context, ev *events.EventBridgeEvent) (*ScheduleResult, error) {
	if len(ev.Resources) != 1 {
		return nil, fmt.Errorf("%w: a scheduled event must name exactly one rule, got %d resources", ErrUnknownEvent, len(ev.Resources))
	}
	rule, err := RuleName(ev.Resources[0])
	if err != nil {
		return nil, err
	}
	fn, ok := MatchRule(rule, h.names)
	if !ok {
		return nil, fmt.Errorf("%w: rule %q (trigger functions: %s)", ErrNoFunction, rule, strings.Join(h.names, ", "))
	}
	t := h.triggers[fn]
	ctx = logging.WithRequestID(ctx, ev.ID)
	res := &ScheduleResult{Function: fn, Rule: rule}
	now := h.cfg.Now()
	log := h.log.With("function", fn, "rule", rule, "aws_request_id", awsRequestID(ctx))
	if strings.EqualFold(t.binding.Type, "timerTrigger") {
		res.Kind = "timer"
		// The tick is past due when it arrives well after its time (a
		// retried asynchronous invocation), as the host's IsPastDue says.
		ti := &funchost.TimerInfo{IsPastDue: !ev.Time.IsZero() && now.Sub(ev.Time) > time.Minute}
		inv, err := funchost.EncodeTimer(fn, t.binding.Name, ti, now)
		if err != nil {
			return nil, err
		}
		if err := call(ctx, t, inv); err != nil {
			log.ErrorContext(ctx, "scheduled function failed", "err", err)
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		log.InfoContext(ctx, "scheduled function ran", "past_due", ti.IsPastDue)
		return res, nil
	}
	res.Kind, res.Queue = "queue", t.queue
	err = h.drain(ctx, t, res)
	log.InfoContext(ctx, "queue drained", "queue", t.queue, "received", res.Received, "completed", res.Completed, "abandoned", res.Abandoned, "stopped", res.Stopped)
	return res, err
}

// drain receives from the function's queue and hands each message to it
// as the Functions host would: complete on success, abandon on failure
// (the queue redelivers it, and dead-letters it after its maximum
// deliveries).
func (h *Handler) drain(ctx context.Context, t trigger, res *ScheduleResult) error {
	if h.cfg.Queue == nil {
		return fmt.Errorf("%s: %w", t.name, ErrNoQueue)
	}
	d := h.cfg.Drain
	var stopAt time.Time
	if dl, ok := ctx.Deadline(); ok {
		stopAt = dl.Add(-d.Reserve)
	}
	for {
		if res.Received >= d.MaxMessages {
			res.Stopped = "max-messages"
			break
		}
		if !stopAt.IsZero() && !h.cfg.Now().Before(stopAt) {
			res.Stopped = "deadline"
			break
		}
		ds, err := h.cfg.Queue.Receive(ctx, t.queue, min(d.Batch, d.MaxMessages-res.Received), d.Wait)
		if err != nil {
			return fmt.Errorf("%s: receive from %s: %w", t.name, t.queue, err)
		}
		if len(ds) == 0 {
			res.Stopped = "empty"
			break
		}
		for _, del := range ds {
			res.Received++
			if err := h.deliver(ctx, t, del); err != nil {
				res.Abandoned++
				h.log.ErrorContext(ctx, "queue message failed; abandoned", "function", t.name, "message_id", del.Message().ID,
					"delivery_count", del.Message().DeliveryCount, "err", err)
				if aerr := del.Abandon(ctx); aerr != nil {
					h.log.ErrorContext(ctx, "abandon failed; the lock expires instead", "function", t.name, "err", aerr)
				}
				continue
			}
			if err := del.Complete(ctx); err != nil {
				// The message comes back; the function must be idempotent
				// by message id, as under the Functions host.
				res.Abandoned++
				h.log.ErrorContext(ctx, "complete failed; the message will be delivered again", "function", t.name, "message_id", del.Message().ID, "err", err)
				continue
			}
			res.Completed++
		}
	}
	if res.Abandoned > 0 {
		return fmt.Errorf("%s: %d of %d messages failed; they are delivered again, and dead-lettered after the queue's maximum deliveries", t.name, res.Abandoned, res.Received)
	}
	return nil
}

func (h *Handler) deliver(ctx context.Context, t trigger, d queue.Delivery) error {
	// The same invocation payload the Functions host (and the local
	// trigger driver) would send, so the function runs the code it runs
	// under Azure.
	inv, err := funchost.EncodeServiceBus(t.name, t.binding.Name, queue.ToServiceBusMessage(d.Message()), h.cfg.Now())
	if err != nil {
		return err
	}
	return call(ctx, t, inv)
}

// call runs a trigger function; a panic is a failure like any other (the
// message is abandoned), not a crashed process.
func call(ctx context.Context, t trigger, inv *funchost.Invocation) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %s", logging.RedactString(fmt.Sprint(v)))
		}
	}()
	_, err = t.handler(ctx, inv)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return err
}
