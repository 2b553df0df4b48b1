// Package audit is behalf's audit trail: who did what, as whom, through
// which agent, recorded so that nothing is lost and tampering shows.
//
// The pieces, in the order an event travels:
//
//   - Event is the schema (documented in README.md, pinned by golden
//     files). It is a closed struct — no free-form maps — and Validate
//     refuses anything shaped like a credential, so a token cannot reach
//     the trail by accident.
//   - Emitter is what every function calls. Emit queues an event without
//     waiting on the store (best effort, but never silent: a full buffer is
//     an error the caller must act on); EmitDurable returns only once the
//     event is durably on the audit queue, which a destructive statement
//     needs before it runs. Admit tells a function whether it may serve at
//     all while the trail is unhealthy (fail closed).
//   - The queue-triggered audit-writer decodes batches and appends them to
//     a Store idempotently by event id, in a hash chain: each Record holds
//     the previous record's hash and a SHA-256 over a canonical encoding of
//     its own event, sequence number and that previous hash.
//   - Verifier checks a chain and names the first broken link; the
//     export sub-package writes the chain out per period with manifests
//     that anchor its head.
package audit
