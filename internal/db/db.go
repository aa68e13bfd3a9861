// Package db opens Switchboard's database (PostgreSQL in production, embedded
// SQLite by default), migrates it, runs transactions, and carries
// notifications that fire when a transaction commits: pg_notify on Postgres so
// every node hears them, an in-process fan-out on SQLite.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "github.com/ncruces/go-sqlite3/driver" // registers database/sql driver "sqlite3"
	"github.com/ncruces/go-sqlite3/gormlite"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/switchboardhq/switchboard/migrations"
)

// Dialect names the database engine in use.
type Dialect string

// The supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is an open database with its notification fan-out.
type DB struct {
	Gorm    *gorm.DB
	Dialect Dialect
	log     *slog.Logger
	pool    *pgxpool.Pool // nil on SQLite
	sqlDB   *sql.DB

	// suffix keeps notification channels of different schemas in one
	// Postgres database apart (test suites run side by side in schemas).
	suffix    string
	mu        sync.RWMutex
	listeners map[string][]func(payload string)
	listening bool // the Postgres LISTEN loop has started

	// deliverMu makes in-process (SQLite) delivery one stream in commit
	// order, as Postgres's single LISTEN connection is: a transaction holds
	// it from just before its commit until its notifications are delivered,
	// so a later commit cannot overtake an earlier one's delivery.
	deliverMu sync.Mutex
}

// Options say which database to open.
type Options struct {
	URL     string // postgres://… ; empty means SQLite under DataDir
	DataDir string // where switchboard.db lives when URL is empty
	// SQLitePath overrides the SQLite file (tests); ignored with URL.
	SQLitePath string
	Logger     *slog.Logger
}

// Open connects to the database described by opts. It does not migrate.
func Open(ctx context.Context, opts Options) (*DB, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := &gorm.Config{
		// Our writes run in explicit transactions; GORM's implicit one per
		// statement would double the round trips.
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	}
	d := &DB{log: log, listeners: map[string][]func(string){}}
	switch {
	case strings.HasPrefix(opts.URL, "postgres://"), strings.HasPrefix(opts.URL, "postgresql://"):
		pcfg, err := pgxpool.ParseConfig(opts.URL)
		if err != nil {
			return nil, fmt.Errorf("db: postgres config: %w", err)
		}
		if !strings.Contains(opts.URL, "pool_max_conns") {
			// pgx's default (max(4, cores)) leaves too little beside the
			// connections the listener and the leader lease hold for good.
			pcfg.MaxConns = int32(max(16, 4*runtime.NumCPU()))
		}
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return nil, fmt.Errorf("db: postgres pool: %w", err)
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("db: cannot reach postgres: %w", err)
		}
		d.pool = pool
		d.sqlDB = stdlib.OpenDBFromPool(pool)
		d.Dialect = Postgres
		g, err := gorm.Open(postgres.New(postgres.Config{Conn: d.sqlDB}), cfg)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("db: gorm postgres: %w", err)
		}
		d.Gorm = g
		var schema string
		if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			pool.Close()
			return nil, fmt.Errorf("db: postgres schema: %w", err)
		}
		if schema != "public" {
			d.suffix = "_" + schema
		}
	case opts.URL == "":
		path := opts.SQLitePath
		if path == "" {
			if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
				return nil, fmt.Errorf("db: data dir: %w", err)
			}
			path = filepath.Join(opts.DataDir, "switchboard.db")
		}
		// Immediate transactions take the write lock up front, so concurrent
		// writers queue on busy_timeout instead of failing to upgrade a read
		// lock. Times are stored as UTC text without a zone suffix, which sorts
		// chronologically (a shorter fraction sorts first) and stays readable.
		dsn := "file:" + path + "?_txlock=immediate&_timefmt=2006-01-02+15:04:05.999999" +
			"&_pragma=foreign_keys(1)&_pragma=journal_mode(wal)&_pragma=busy_timeout(10000)&_pragma=synchronous(normal)"
		g, err := gorm.Open(gormlite.Open(dsn), cfg)
		if err != nil {
			return nil, fmt.Errorf("db: sqlite: %w", err)
		}
		d.Gorm = g
		d.Dialect = SQLite
		d.sqlDB, err = g.DB()
		if err != nil {
			return nil, fmt.Errorf("db: sqlite: %w", err)
		}
		if err := d.sqlDB.PingContext(ctx); err != nil {
			return nil, fmt.Errorf("db: sqlite %s: %w", path, err)
		}
	default:
		return nil, fmt.Errorf("db: unsupported database URL %q (want postgres://…, or none for SQLite)", redact(opts.URL))
	}
	return d, nil
}

// redact hides a password in a URL before it reaches an error message.
func redact(u string) string {
	if at := strings.Index(u, "@"); at > 0 {
		if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
			return u[:scheme+3] + "…" + u[at:]
		}
	}
	return u
}

// Migrate applies every pending migration for the dialect.
func (d *DB) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations.FS, string(d.Dialect))
	if err != nil {
		return err
	}
	dialect := goose.DialectSQLite3
	if d.Dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, d.sqlDB, sub)
	if err != nil {
		return fmt.Errorf("db: migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	for _, r := range res {
		d.log.Info("migrated", "version", r.Source.Version, "path", r.Source.Path, "took", r.Duration)
	}
	return nil
}

// Ping checks the database answers (readiness).
func (d *DB) Ping(ctx context.Context) error { return d.sqlDB.PingContext(ctx) }

// Close releases every connection.
func (d *DB) Close() error {
	err := d.sqlDB.Close()
	if d.pool != nil {
		d.pool.Close()
	}
	return err
}

// Tx is a transaction in progress: GORM for queries plus notifications that
// are delivered only if it commits.
type Tx struct {
	*gorm.DB
	d       *DB
	pending []notification
	queued  map[notification]bool
}

type notification struct{ channel, payload string }

// Notify queues payload on channel, delivered to listeners once the
// transaction commits and never if it rolls back. On Postgres the
// transaction's notifications are sent together, in order, by one
// pg_notify statement just before the commit — a round trip per
// transaction rather than per event; payloads must stay under 8000 bytes.
// A repeat of a notification already queued is dropped, as Postgres
// itself folds it.
func (tx *Tx) Notify(channel, payload string) error {
	n := notification{channel, payload}
	if tx.queued[n] {
		return nil
	}
	if tx.queued == nil {
		tx.queued = map[notification]bool{}
	}
	tx.queued[n] = true
	tx.pending = append(tx.pending, n)
	return nil
}

// notifyPending sends a Postgres transaction's queued notifications in
// one statement, in the order they were queued.
func (tx *Tx) notifyPending() error {
	var sql strings.Builder
	sql.WriteString("SELECT pg_notify(c, p) FROM (VALUES ")
	args := make([]any, 0, 2*len(tx.pending))
	for i, n := range tx.pending {
		if i > 0 {
			sql.WriteString(", ")
		}
		fmt.Fprintf(&sql, "(%d, ?, ?)", i)
		args = append(args, n.channel+tx.d.suffix, n.payload)
	}
	// Volatile functions in the select list run after the sort.
	sql.WriteString(") AS n(i, c, p) ORDER BY i")
	return tx.Exec(sql.String(), args...).Error
}

// Notify sends payload on channel now, outside any transaction, to the
// listeners of every node: a pg_notify in its own statement on Postgres, an
// immediate in-process delivery on SQLite. It suits ephemeral signals (typing)
// that are never stored; anything tied to a write belongs in Tx.Notify.
func (d *DB) Notify(ctx context.Context, channel, payload string) error {
	if d.Dialect == Postgres {
		if _, err := d.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel+d.suffix, payload); err != nil {
			return fmt.Errorf("db: notify %s: %w", channel, err)
		}
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.deliverMu.Lock()
	defer d.deliverMu.Unlock()
	d.deliver(channel, payload)
	return nil
}

// Dialect reports the database engine of the transaction.
func (tx *Tx) Dialect() Dialect { return tx.d.Dialect }

// InTx runs fn in a transaction, committing if it returns nil. A
// transaction that Postgres aborts as a deadlock victim or a serialization
// failure is run again after a short random pause (fn must only touch the
// database), up to eight times: the job runner's workers, the router and
// requests can meet in the same lock cycle more than once under load.
func (d *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(attempt) * time.Duration(1+rand.IntN(20)) * time.Millisecond):
			}
		}
		var pending []notification
		err = d.Gorm.WithContext(ctx).Transaction(func(g *gorm.DB) error {
			tx := &Tx{DB: g, d: d}
			if err := fn(tx); err != nil {
				return err
			}
			if d.Dialect == Postgres {
				if len(tx.pending) == 0 {
					return nil
				}
				return tx.notifyPending()
			}
			pending = tx.pending
			if len(pending) > 0 {
				// Released below, after the commit and its delivery. No other
				// transaction can be waiting here while holding SQLite's
				// write lock, since this one holds it.
				d.deliverMu.Lock()
			}
			return nil
		})
		if len(pending) > 0 {
			if err == nil {
				for _, n := range pending {
					d.deliver(n.channel, n.payload)
				}
			}
			d.deliverMu.Unlock()
		}
		if err == nil {
			return nil
		}
		if !retryable(err) {
			return err
		}
	}
	return err
}

// retryable reports a Postgres deadlock (40P01) or serialization failure
// (40001): the transaction did nothing and may simply run again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// Listen registers fn for notifications on channel. fn runs on the
// notification goroutine, one delivery at a time in commit order, and must
// neither block nor notify. On Postgres the first call starts
// the LISTEN loop, which lives until ctx ends and reconnects when dropped.
func (d *DB) Listen(ctx context.Context, channel string, fn func(payload string)) {
	d.mu.Lock()
	d.listeners[channel] = append(d.listeners[channel], fn)
	start := d.pool != nil && !d.listening
	d.listening = d.listening || start
	d.mu.Unlock()
	if start {
		go d.listenLoop(ctx)
	}
}

func (d *DB) deliver(channel, payload string) {
	d.mu.RLock()
	fns := d.listeners[channel]
	d.mu.RUnlock()
	for _, fn := range fns {
		fn(payload)
	}
}

func (d *DB) channels() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]string, 0, len(d.listeners))
	for ch := range d.listeners {
		out = append(out, ch)
	}
	return out
}

// listenLoop holds one dedicated connection in LISTEN on every registered
// channel. Channels registered after it starts are picked up on the next
// reconnect, so register all listeners before serving.
func (d *DB) listenLoop(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := d.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		d.log.Warn("postgres listener dropped; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (d *DB) listenOnce(ctx context.Context) error {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	listening := map[string]bool{}
	for {
		// Pick up channels registered since the last wait.
		for _, ch := range d.channels() {
			if listening[ch] {
				continue
			}
			if _, err := conn.Exec(ctx, `LISTEN "`+strings.ReplaceAll(ch+d.suffix, `"`, `""`)+`"`); err != nil {
				return err
			}
			listening[ch] = true
		}
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		n, err := conn.Conn().WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			d.deliver(strings.TrimSuffix(n.Channel, d.suffix), n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.Conn().IsClosed():
			// The wait timed out: loop to re-check the channel set.
		default:
			return err
		}
	}
}

// IsUniqueViolation reports whether err is a unique or primary-key constraint
// failure, on either dialect.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "UNIQUE constraint failed") ||
		strings.Contains(msg, "duplicate key value")
}

// IsNotFound reports whether err is GORM's record-not-found.
func IsNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

// Locked returns a query of tx that row-locks what it reads until tx ends
// (strength "UPDATE" or "SHARE"), so a check holds until the write that
// depends on it. Only Postgres needs it: SQLite's immediate transactions
// already run one at a time.
func (tx *Tx) Locked(strength string) *gorm.DB {
	if tx.d.Dialect == Postgres {
		return tx.Clauses(clause.Locking{Strength: strength})
	}
	return tx.DB
}
