// Package jobs is the durable work queue: a job row is written in the same
// transaction as the change that needs it, claimed with FOR UPDATE SKIP
// LOCKED (so any number of nodes can run jobs), retried with exponential
// backoff, and kept with its last error when it finally fails.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/switchboardhq/switchboard/internal/db"
)

// Status of a job row.
const (
	StatusPending = "pending"
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// Job is a unit of durable work.
type Job struct {
	ID          int64
	Kind        string
	DedupeKey   *string
	Payload     string
	Status      string
	RunAt       time.Time
	Attempts    int
	MaxAttempts int
	LastError   string
	DateCreated time.Time
	DateUpdated time.Time
}

// wakeChannel tells runners that a job is due sooner than they planned.
const wakeChannel = "switchboard_jobs"

// lease is how long a claimed job may run before another runner may take it
// over, on the assumption that its runner died. A handler's context ends a
// little before its lease does, so a live runner never overlaps a takeover.
const (
	lease    = 5 * time.Minute
	runLimit = lease - 30*time.Second
)

// Enqueue writes a job due at runAt inside tx.
func Enqueue(tx *db.Tx, kind, payload string, runAt time.Time) error {
	now := time.Now().UTC()
	j := Job{Kind: kind, Payload: payload, Status: StatusPending, RunAt: runAt.UTC(), MaxAttempts: 10,
		DateCreated: now, DateUpdated: now}
	if err := tx.Create(&j).Error; err != nil {
		return err
	}
	return tx.Notify(wakeChannel, "")
}

// Schedule makes sure one pending job with key exists and is due no later
// than runAt: it inserts one, or moves an existing pending one earlier. A
// running job with the key does not count: its handler may already have
// read the state this change alters, so the change gets a pending twin.
func Schedule(tx *db.Tx, kind, key, payload string, runAt time.Time) error {
	runAt = runAt.UTC()
	now := time.Now().UTC()
	var pending []Job
	if err := tx.Where("dedupe_key = ? AND status = ?", key, StatusPending).Limit(1).Find(&pending).Error; err != nil {
		return err
	}
	if len(pending) == 1 {
		if !pending[0].RunAt.After(runAt) {
			return nil
		}
		if err := tx.Model(&Job{}).Where("id = ?", pending[0].ID).Updates(map[string]any{"run_at": runAt, "date_updated": now}).Error; err != nil {
			return err
		}
		return tx.Notify(wakeChannel, "")
	}
	j := Job{Kind: kind, DedupeKey: &key, Payload: payload, Status: StatusPending, RunAt: runAt, MaxAttempts: 10,
		DateCreated: now, DateUpdated: now}
	// A concurrent Schedule may insert the same key first; then its job serves.
	if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "dedupe_key"}},
		TargetWhere: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "status = 'pending'"}}}, // the index's own predicate, literally
		DoNothing:   true}).Create(&j).Error; err != nil {
		return err
	}
	return tx.Notify(wakeChannel, "")
}

// Handler does the work of one job. Returning nil completes it; Later(t)
// defers it without counting an attempt; Permanent(err) fails it at once; any
// other error retries it with backoff.
type Handler func(ctx context.Context, payload string) error

type laterError struct{ at time.Time }

func (l laterError) Error() string { return "later: " + l.at.Format(time.RFC3339) }

// Later asks the runner to run the job again at t.
func Later(t time.Time) error { return laterError{t} }

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return permanentError{err} }

// Runner claims and runs due jobs.
type Runner struct {
	db       *db.DB
	log      *slog.Logger
	handlers map[string]Handler
	wake     chan struct{}
	// Poll bounds how long a due job can wait when no wake-up arrives.
	Poll time.Duration
	// Workers is how many jobs Run runs at once, so one slow carrier or
	// webhook target does not hold up timers and routing behind it.
	Workers int
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// NewRunner returns a runner over d with no handlers.
func NewRunner(d *db.DB, log *slog.Logger) *Runner {
	return &Runner{db: d, log: log, handlers: map[string]Handler{}, wake: make(chan struct{}, 1),
		Poll: time.Second, Workers: 8, Now: func() time.Time { return time.Now().UTC() }}
}

// Handle registers the handler for a job kind. Call before Run.
func (r *Runner) Handle(kind string, h Handler) { r.handlers[kind] = h }

// Run processes jobs until ctx ends, up to Workers at a time, and returns
// once the jobs it started have finished. A job is claimed only when a
// worker is free for it, so its lease starts when it does.
func (r *Runner) Run(ctx context.Context) {
	r.db.Listen(ctx, wakeChannel, func(string) {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	})
	workers := max(r.Workers, 1)
	free := make(chan struct{}, workers) // a token per idle worker
	for range workers {
		free <- struct{}{}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	lastPurge := time.Time{}
	for ctx.Err() == nil {
		if r.Now().Sub(lastPurge) >= time.Hour {
			if _, err := r.PurgeDone(ctx, DoneRetention); err != nil && ctx.Err() == nil {
				r.log.Warn("purging done jobs", "err", err)
			}
			lastPurge = r.Now()
		}
		select { // wait for a free worker
		case <-free:
		case <-ctx.Done():
			return
		}
		idle := 1
		for len(free) > 0 {
			<-free
			idle++
		}
		batch, err := r.claim(ctx, idle)
		if err != nil && ctx.Err() == nil {
			r.log.Error("job runner", "err", err)
		}
		for _, j := range batch {
			wg.Go(func() {
				r.run(ctx, j)
				free <- struct{}{}
			})
		}
		for range idle - len(batch) {
			free <- struct{}{}
		}
		if len(batch) == idle {
			continue // more may be due: claim again as workers free up
		}
		select {
		case <-ctx.Done():
		case <-r.wake:
		case <-time.After(r.Poll):
		}
	}
}

// RunDue claims and runs the jobs due now, in batches, and reports how many ran.
func (r *Runner) RunDue(ctx context.Context) (int, error) {
	total := 0
	for {
		batch, err := r.claim(ctx, 16)
		if err != nil || len(batch) == 0 {
			return total, err
		}
		for _, j := range batch {
			r.run(ctx, j)
		}
		total += len(batch)
	}
}

func (r *Runner) claim(ctx context.Context, n int) ([]Job, error) {
	var claimed []Job
	now := r.Now()
	err := r.db.InTx(ctx, func(tx *db.Tx) error {
		q := tx.Where("status IN ? AND run_at <= ?", []string{StatusPending, StatusRunning}, now).
			Order("run_at").Limit(n)
		if tx.Dialect() == db.Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		if err := q.Find(&claimed).Error; err != nil || len(claimed) == 0 {
			return err
		}
		ids := make([]int64, len(claimed))
		for i := range claimed {
			ids[i] = claimed[i].ID
			claimed[i].Attempts++
		}
		return tx.Model(&Job{}).Where("id IN ?", ids).Updates(map[string]any{
			"status": StatusRunning, "run_at": now.Add(lease), "attempts": gorm.Expr("attempts + 1"), "date_updated": now,
		}).Error
	})
	return claimed, err
}

func (r *Runner) run(ctx context.Context, j Job) {
	h, ok := r.handlers[j.Kind]
	var err error
	if !ok {
		err = Permanent(fmt.Errorf("no handler for job kind %q", j.Kind))
	} else {
		hctx, cancel := context.WithTimeout(ctx, runLimit)
		err = safeCall(hctx, h, j.Payload)
		cancel()
	}
	now := r.Now()
	update := map[string]any{"date_updated": now}
	var later laterError
	var perm permanentError
	switch {
	case err == nil:
		update["status"] = StatusDone
	case errors.As(err, &later):
		update["status"] = StatusPending
		update["run_at"] = later.at.UTC()
		update["attempts"] = j.Attempts - 1
	case errors.As(err, &perm) || j.Attempts >= j.MaxAttempts:
		update["status"] = StatusFailed
		update["last_error"] = err.Error()
		r.log.Error("job failed for good", "id", j.ID, "kind", j.Kind, "attempts", j.Attempts, "err", err)
	default:
		backoff := min(time.Duration(1<<min(j.Attempts, 12))*time.Second, time.Hour)
		backoff += time.Duration(rand.Int64N(int64(backoff/4) + 1))
		update["status"] = StatusPending
		update["run_at"] = now.Add(backoff)
		update["last_error"] = err.Error()
		r.log.Warn("job will retry", "id", j.ID, "kind", j.Kind, "attempts", j.Attempts, "in", backoff, "err", err)
	}
	err = r.db.Gorm.WithContext(context.WithoutCancel(ctx)).Model(&Job{}).Where("id = ?", j.ID).Updates(update).Error
	if db.IsUniqueViolation(err) {
		// A pending twin was scheduled while this ran: it carries the work on.
		err = r.db.Gorm.WithContext(context.WithoutCancel(ctx)).Model(&Job{}).Where("id = ?", j.ID).
			Updates(map[string]any{"status": StatusDone, "date_updated": now}).Error
	}
	if err != nil {
		r.log.Error("recording job result", "id", j.ID, "kind", j.Kind, "err", err)
	}
}

// safeCall runs h, turning a panic into a permanent failure so one bad job
// cannot take the runner down.
func safeCall(ctx context.Context, h Handler, payload string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Permanent(fmt.Errorf("panic: %v", p))
		}
	}()
	return h(ctx, payload)
}

// DoneRetention is how long finished jobs are kept before the runner
// deletes them: every customer message makes one, so they must not pile up.
const DoneRetention = 24 * time.Hour

// PurgeDone deletes jobs that finished more than olderThan ago and reports
// how many. Failed jobs are kept: someone has to look at them.
func (r *Runner) PurgeDone(ctx context.Context, olderThan time.Duration) (int64, error) {
	res := r.db.Gorm.WithContext(ctx).Where("status = ? AND date_updated < ?", StatusDone, r.Now().Add(-olderThan)).Delete(&Job{})
	return res.RowsAffected, res.Error
}

// Failed lists jobs that failed for good, newest first.
func Failed(ctx context.Context, d *db.DB, limit int) ([]Job, error) {
	var out []Job
	err := d.Gorm.WithContext(ctx).Where("status = ?", StatusFailed).Order("date_updated DESC").Limit(limit).Find(&out).Error
	return out, err
}
