// Package embedded is behalf's queue in a SQLite file (modernc.org/sqlite,
// pure Go): the default of `behalf dev` and the standalone server, with
// Service Bus' semantics so that code tested here behaves the same in
// Azure (see package queue).
//
// Every state the broker keeps — messages, delivery counts, message and
// session locks (an owner token and an expiry), session state, duplicate
// ids — lives in the database, never in memory, so several processes on
// one machine can share a file: the database runs in WAL mode with a busy
// timeout, and every operation is one BEGIN IMMEDIATE transaction, so it
// sees and changes the queue atomically against every other process. A
// process that dies simply stops renewing its locks; they lapse and
// another process takes over. Commits are synchronous (synchronous=FULL):
// Send returns only once the batch is on disk, all of it or none.
//
// Waiting receivers are woken at once by senders in the same process and
// poll with a short backoff (5 ms up to 200 ms) for the others.
package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/behalf-dev/behalf/shared/queue"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// Service Bus defaults for a queue's properties.
const (
	DefaultLockDuration    = 60 * time.Second
	DefaultMaxDeliveries   = 10
	DefaultDuplicateWindow = 10 * time.Minute
	// MaxLockDuration is Service Bus' maximum lock duration.
	MaxLockDuration = 5 * time.Minute
	// MaxDuplicateWindow is Service Bus' maximum duplicate-detection window.
	MaxDuplicateWindow = 7 * 24 * time.Hour
	// MaxMaxDeliveries bounds MaxDeliveries.
	MaxMaxDeliveries = 2000
	// MaxQueues bounds how many queues one namespace declares.
	MaxQueues = 100
	// busyTimeout is how long a transaction waits for another process'.
	busyTimeout   = 10 * time.Second
	schemaVersion = "1"
)

// QueueConfig declares one queue. Zero values take Service Bus' defaults.
// Processes sharing a file should declare a queue alike: each applies its
// own declaration (only a change of Sessions is refused).
type QueueConfig struct {
	Name string
	// Sessions makes the queue session-enabled: every message carries a
	// session id and is received through an exclusively locked session.
	Sessions bool
	// DefaultTTL is the queue's time to live (zero: unlimited); a longer
	// message TTL is cut to it, as in Service Bus.
	DefaultTTL time.Duration
	// LockDuration is the message and session lock (zero: 60 s).
	LockDuration time.Duration
	// MaxDeliveries moves a message to the dead-letter queue once it has
	// been delivered this many times (zero: 10).
	MaxDeliveries int
	// DuplicateWindow is how long a message id is remembered (zero: 10
	// minutes); a negative window turns duplicate detection off.
	DuplicateWindow time.Duration
	// DeadLetterOnExpiry moves expired messages to the dead-letter queue
	// instead of dropping them.
	DeadLetterOnExpiry bool
}

// Config configures Open.
type Config struct {
	// Path is the SQLite file; it is created (mode 0600) when missing.
	Path   string
	Queues []QueueConfig
	// Now is the broker's clock (tests); time.Now when nil. Waits always
	// use the real clock.
	Now    func() time.Time
	Logger *slog.Logger
}

// Queues is a namespace of queues in one SQLite file. It is safe for
// concurrent use, and several processes may open the same file.
type Queues struct {
	db     *sql.DB
	path   string
	queues map[string]QueueConfig
	now    func() time.Time
	log    *slog.Logger
	notify *notifier

	mu       sync.RWMutex // held for reading by every operation, for writing by Close
	closed   bool
	sessions map[*session]struct{} // open sessions, released by Close
	smu      sync.Mutex

	// beforeCommit, when set (tests), runs inside every write transaction
	// just before it commits: the crash tests kill the process there.
	beforeCommit func(op string)
}

var _ queue.Queues = (*Queues)(nil)

// Open opens (creating when needed) the queue file and declares the
// queues. A queue declared before with the other session setting is
// refused: its stored messages would not fit.
func Open(ctx context.Context, cfg Config) (*Queues, error) {
	if cfg.Path == "" {
		return nil, errors.New("embedded: Config.Path is required")
	}
	if strings.ContainsAny(cfg.Path, "?#") || strings.HasPrefix(cfg.Path, "file:") {
		return nil, fmt.Errorf("embedded: Config.Path %q must be a plain file path", cfg.Path)
	}
	queues, err := checkQueues(cfg.Queues)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Create the file ourselves so it is private: it holds pending
	// statements. SQLite gives the -wal and -shm files the same mode.
	f, err := os.OpenFile(cfg.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	f.Close()
	dsn := cfg.Path + fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate",
		busyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", cfg.Path, err)
	}
	// One connection: this process' transactions queue in database/sql
	// (cheap) rather than in SQLite's busy handler (sleeps); other
	// processes are serialized by the busy timeout.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	q := &Queues{db: db, path: cfg.Path, queues: queues, now: cfg.Now, log: cfg.Logger,
		notify: newNotifier(), sessions: map[*session]struct{}{}}
	if err := q.migrateRetrying(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return q, nil
}

// migrateRetrying runs migrate, retrying while another process opens the
// same new file: switching a fresh database to WAL takes an exclusive lock
// for which SQLite does not call the busy handler, so two processes (the
// function app and the trigger driver of behalf dev, say) opening it at
// the same moment can see SQLITE_BUSY at once.
func (q *Queues) migrateRetrying(ctx context.Context) error {
	wait := 20 * time.Millisecond
	deadline := time.Now().Add(busyTimeout)
	for {
		err := q.migrate(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
}

func checkQueues(list []QueueConfig) (map[string]QueueConfig, error) {
	if len(list) == 0 || len(list) > MaxQueues {
		return nil, fmt.Errorf("embedded: declare between 1 and %d queues (got %d)", MaxQueues, len(list))
	}
	out := make(map[string]QueueConfig, len(list))
	for _, c := range list {
		if err := checkQueueName(c.Name); err != nil {
			return nil, err
		}
		if _, dup := out[c.Name]; dup {
			return nil, fmt.Errorf("embedded: queue %q declared twice", c.Name)
		}
		if c.LockDuration == 0 {
			c.LockDuration = DefaultLockDuration
		}
		if c.MaxDeliveries == 0 {
			c.MaxDeliveries = DefaultMaxDeliveries
		}
		if c.DuplicateWindow == 0 {
			c.DuplicateWindow = DefaultDuplicateWindow
		}
		switch {
		case c.LockDuration < time.Millisecond || c.LockDuration > MaxLockDuration:
			return nil, fmt.Errorf("embedded: queue %q: lock duration %v is out of range [1ms, %v]", c.Name, c.LockDuration, MaxLockDuration)
		case c.MaxDeliveries < 1 || c.MaxDeliveries > MaxMaxDeliveries:
			return nil, fmt.Errorf("embedded: queue %q: max deliveries %d is out of range [1, %d]", c.Name, c.MaxDeliveries, MaxMaxDeliveries)
		case c.DefaultTTL < 0 || c.DefaultTTL > queue.MaxTTL:
			return nil, fmt.Errorf("embedded: queue %q: default TTL %v is out of range [0, %v]", c.Name, c.DefaultTTL, queue.MaxTTL)
		case c.DuplicateWindow > MaxDuplicateWindow:
			return nil, fmt.Errorf("embedded: queue %q: duplicate window %v is over %v", c.Name, c.DuplicateWindow, MaxDuplicateWindow)
		}
		out[c.Name] = c
	}
	return out, nil
}

// checkQueueName applies Service Bus' rule for queue names.
func checkQueueName(n string) error {
	if n == "" || len(n) > 260 {
		return fmt.Errorf("embedded: queue name %.40q must be 1-260 characters", n)
	}
	for _, r := range n {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' || r == '/'
		if !ok {
			return fmt.Errorf("embedded: queue name %.40q may hold only letters, digits, '.', '-', '_' and '/'", n)
		}
	}
	return nil
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS queues (name TEXT PRIMARY KEY, sessions INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS messages (
	seq            INTEGER PRIMARY KEY AUTOINCREMENT,
	queue          TEXT    NOT NULL,
	dead           INTEGER NOT NULL DEFAULT 0,
	message_id     TEXT    NOT NULL,
	session_id     TEXT    NOT NULL DEFAULT '',
	body           BLOB,
	content_type   TEXT    NOT NULL DEFAULT '',
	subject        TEXT    NOT NULL DEFAULT '',
	props          BLOB,
	ttl            INTEGER NOT NULL DEFAULT 0,
	enqueued       INTEGER NOT NULL,
	expires        INTEGER NOT NULL DEFAULT 0,
	deliveries     INTEGER NOT NULL DEFAULT 0,
	lock_token     TEXT,
	holder         TEXT,
	locked_until   INTEGER NOT NULL DEFAULT 0,
	dl_reason      TEXT    NOT NULL DEFAULT '',
	dl_description TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX IF NOT EXISTS messages_by_queue ON messages (queue, dead, seq);
CREATE INDEX IF NOT EXISTS messages_by_session ON messages (queue, session_id, seq) WHERE dead = 0;
CREATE INDEX IF NOT EXISTS messages_by_holder ON messages (holder) WHERE holder IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_locked ON messages (queue, locked_until) WHERE lock_token IS NOT NULL AND dead = 0;
CREATE INDEX IF NOT EXISTS messages_by_expiry ON messages (queue, expires) WHERE expires > 0 AND dead = 0;
CREATE TABLE IF NOT EXISTS sessions (
	queue        TEXT    NOT NULL,
	session_id   TEXT    NOT NULL,
	state        BLOB,
	lock_token   TEXT,
	locked_until INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (queue, session_id)
) STRICT;
CREATE TABLE IF NOT EXISTS duplicates (
	queue      TEXT    NOT NULL,
	message_id TEXT    NOT NULL,
	seen       INTEGER NOT NULL,
	PRIMARY KEY (queue, message_id)
) STRICT;
CREATE INDEX IF NOT EXISTS duplicates_by_age ON duplicates (queue, seen);
`

func (q *Queues) migrate(ctx context.Context) error {
	return q.tx(ctx, "open", func(tx *sql.Tx, _ int64) error {
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return fmt.Errorf("embedded: create schema: %w", err)
		}
		var v string
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema'`).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('schema', ?)`, schemaVersion); err != nil {
				return err
			}
		case err != nil:
			return err
		case v != schemaVersion:
			return fmt.Errorf("embedded: %s has schema version %s, this build knows %s", q.path, v, schemaVersion)
		}
		for _, c := range q.queues {
			var sessions bool
			err := tx.QueryRowContext(ctx, `SELECT sessions FROM queues WHERE name = ?`, c.Name).Scan(&sessions)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if _, err := tx.ExecContext(ctx, `INSERT INTO queues (name, sessions) VALUES (?, ?)`, c.Name, c.Sessions); err != nil {
					return err
				}
			case err != nil:
				return err
			case sessions != c.Sessions:
				return fmt.Errorf("embedded: queue %q exists in %s with sessions=%v; it cannot be reopened with sessions=%v", c.Name, q.path, sessions, c.Sessions)
			}
		}
		return nil
	})
}

// tx runs fn in one BEGIN IMMEDIATE transaction. now is read once the
// write lock is held, so that every process sees time advance in commit
// order.
func (q *Queues) tx(ctx context.Context, op string, fn func(tx *sql.Tx, now int64) error) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return queue.ErrClosed
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("embedded: %s: begin: %w", op, err)
	}
	if err := fn(tx, q.now().UnixNano()); err != nil {
		_ = tx.Rollback()
		return err
	}
	if q.beforeCommit != nil {
		q.beforeCommit(op)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("embedded: %s: commit: %w", op, err)
	}
	return nil
}

func (q *Queues) config(name string) (QueueConfig, error) {
	c, ok := q.queues[name]
	if !ok {
		return QueueConfig{}, fmt.Errorf("%w: %q", queue.ErrUnknownQueue, name)
	}
	return c, nil
}

// Close releases the sessions this namespace holds and closes the file.
// Unsettled message locks are left to lapse, as after a crash.
func (q *Queues) Close(ctx context.Context) error {
	q.smu.Lock()
	open := make([]*session, 0, len(q.sessions))
	for s := range q.sessions {
		open = append(open, s)
	}
	q.smu.Unlock()
	var errs []error
	for _, s := range open {
		if err := s.Close(ctx); err != nil && !errors.Is(err, queue.ErrClosed) {
			errs = append(errs, err)
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errors.Join(errs...)
	}
	q.closed = true
	q.notify.broadcast()
	if err := q.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("embedded: close: %w", err))
	}
	return errors.Join(errs...)
}

func (q *Queues) trackSession(s *session, open bool) {
	q.smu.Lock()
	defer q.smu.Unlock()
	if open {
		q.sessions[s] = struct{}{}
	} else {
		delete(q.sessions, s)
	}
}
