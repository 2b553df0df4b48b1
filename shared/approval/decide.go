package approval

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Actor is who asks for a decision, as verified by behalf.
type Actor struct {
	Person
	// Approver is true for members of the approvers group or holders of
	// the approver app role.
	Approver bool
}

// Refusal is a decision that is not allowed; nothing changes.
type Refusal struct {
	// Code: FORBIDDEN (not this person), CONFLICT (not in this state),
	// EXPIRED, BAD_REQUEST.
	Code    string
	Message string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Message: fmt.Sprintf(format, args...)}
}

// MaxReasonBytes bounds a decision's reason.
const MaxReasonBytes = 1000

// Decide applies one decision. It returns the next state and whether the
// statement must now run (as the proposer). It never mutates st. The
// statement runs only on the proposer's confirm once the policy is met.
func Decide(op *Operation, st State, actor Actor, kind Kind, reason string, now time.Time) (State, bool, error) {
	if !utf8.ValidString(reason) || len(reason) > MaxReasonBytes {
		return st, false, refuse("BAD_REQUEST", "reason must be UTF-8 text of at most %d bytes", MaxReasonBytes)
	}
	if st.Status == "" {
		st.Status = StatusPending
	}
	if st.Status == StatusExpired {
		return st, false, refuse("EXPIRED", "the approval window closed at %s; nothing ran", op.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if st.Status.Terminal() {
		return st, false, refuse("CONFLICT", "the operation is already %s", st.Status)
	}
	if st.Status == StatusExecuting {
		return st, false, refuse("CONFLICT", "the operation is already running")
	}
	if !now.Before(op.ExpiresAt) {
		return st, false, refuse("EXPIRED", "the approval window closed at %s", op.ExpiresAt.UTC().Format(time.RFC3339))
	}
	isProposer := actor.OID != "" && actor.OID == op.Proposer.OID && strings.EqualFold(actor.TenantID, op.Proposer.TenantID)
	next := st
	next.Decisions = append(append([]Decision(nil), st.Decisions...), Decision{Kind: kind, By: actor.Person, Reason: reason, At: now})
	next.UpdatedAt = now

	switch kind {
	case KindApprove:
		if op.Policy != PolicyFourEyes {
			return st, false, refuse("CONFLICT", "this operation needs no approval: the proposer confirms it")
		}
		if isProposer {
			return st, false, refuse("FORBIDDEN", "the proposer cannot approve their own operation")
		}
		if !actor.Approver {
			return st, false, refuse("FORBIDDEN", "only members of the approvers group can approve")
		}
		if st.Status == StatusApproved {
			return st, false, refuse("CONFLICT", "the operation is already approved")
		}
		next.Status = StatusApproved
		return next, false, nil
	case KindReject:
		if !actor.Approver || isProposer {
			return st, false, refuse("FORBIDDEN", "only an approver other than the proposer can reject; the proposer cancels")
		}
		next.Status = StatusRejected
		return next, false, nil
	case KindCancel:
		if !isProposer {
			return st, false, refuse("FORBIDDEN", "only the proposer can cancel")
		}
		next.Status = StatusCancelled
		return next, false, nil
	case KindConfirm:
		if !isProposer {
			return st, false, refuse("FORBIDDEN", "only the proposer can confirm: the statement runs as the proposer")
		}
		if op.Policy == PolicyFourEyes && st.Status != StatusApproved {
			return st, false, refuse("CONFLICT", "an approver must approve before the proposer confirms")
		}
		if !op.Intact() {
			return st, false, refuse("CONFLICT", "the operation's statement does not match its hash")
		}
		next.Status = StatusExecuting
		t := now
		next.ExecutingAt = &t
		return next, true, nil
	}
	return st, false, refuse("BAD_REQUEST", "decision must be approve, reject, confirm or cancel")
}

// Expire ends a pending or approved operation whose window passed.
func Expire(st State, now time.Time) (State, bool) {
	if st.Status.Terminal() || st.Status == StatusExecuting {
		return st, false
	}
	st.Status, st.UpdatedAt = StatusExpired, now
	return st, true
}
