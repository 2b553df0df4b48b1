// Package teams tells approvers in Microsoft Teams about pending SQL
// operations and what became of them. It builds Adaptive Cards (schema 1.5,
// the newest Teams renders) for a new proposal and for each follow-up
// (approved, rejected, cancelled, executed, failed, outcome unknown,
// expired), wraps them in the message envelope a Teams Workflows "When a
// Teams webhook request is received" trigger expects, and posts it with a
// Notifier that retries throttling and server errors with backoff.
//
// Cards are posted without a bot, so the only action that works is
// Action.OpenUrl: every card links to behalf's approval page, where the
// approver signs in and decides. The card is information, never the gate.
//
// Text that comes from people (statements, names, reasons, table names)
// never goes into an element that renders markdown: Teams interprets
// markdown in TextBlock and Fact text, so user text is placed only in
// TextRun inlines of a RichTextBlock, which render it literally. TextBlocks
// hold only this package's own wording and numbers. Control, format (bidi,
// zero-width) and similar invisible characters are shown as ⟨U+XXXX⟩ so an
// approver sees what the statement really contains, and every field is
// bounded so that a card always fits the 28 KB message limit.
//
// The package knows nothing of HTTP handlers or of the approval domain:
// callers fill in Proposal and Update, which hold plain strings.
//
// The webhook URL carries its credential in the sig= query parameter (or,
// for legacy connector URLs, in the path). It never appears in a log line
// or an error: messages name only the host.
package teams
