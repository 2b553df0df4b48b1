// Package teams is the dev stack's stand-in for a Teams channel behind a
// Workflows "When a Teams webhook request is received" trigger: a local
// HTTP server that accepts the same POSTs the real trigger does (the
// {"type":"message","attachments":[...]} envelope, a sig= credential in
// the URL, 202 Accepted), records each posted Adaptive Card in memory
// (bounded) and, optionally, in a JSON Lines file, and shows them on a
// small HTML page so a developer running `make run` sees what approvers
// would have seen in Teams.
//
// It is stricter than the real trigger on purpose: a malformed envelope
// gets 400 and a message over Teams' 28 KB limit gets 413 at once, where
// the real trigger answers 202 and the flow fails later, visible only in
// its run history.
//
// Fault knobs (FailNext, SetLatency) let tests drive the notifier's
// retries against it.
//
// # Wiring it into the dev stack
//
// The dev stack does not start it yet. To do so (in infra/devstack/stack):
//
//	rec, err := teams.NewRecorder(teams.RecorderConfig{
//		Addr:    "127.0.0.1:7073",          // or a --teams-addr flag
//		DataDir: filepath.Join(dataDir, "teams"), // teams-cards.jsonl
//		Logger:  logger,
//	})
//	if err := rec.Start(ctx); err != nil { ... }
//	defer rec.Close(context.Background())
//	settings["BEHALF_TEAMS_WEBHOOK_URL"] = rec.URL() // the name the config package gives the setting
//	services = append(services, Service{"Teams (recorded cards)", rec.PageURL(), "cards behalf posted"})
//
// rec.URL() is an http://127.0.0.1 URL with a random sig=; shared/teams'
// Notifier accepts plain http only on a loopback host, so nothing else
// needs changing. The page is at rec.PageURL() (/) and the cards as JSON
// at /cards.json. It holds no tokens; it never ships in a deployment
// because only the devstack build imports it.
package teams
