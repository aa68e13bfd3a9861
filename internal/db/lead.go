package db

import (
	"context"
	"hash/fnv"
	"time"
)

// Lead runs fn while this process holds the named leadership, and runs it
// again whenever it wins leadership back, until ctx ends. On Postgres the
// lease is a session advisory lock on a dedicated connection: if this node
// dies or loses its connection, the lock goes with it and another node's
// next attempt takes over. fn's context is canceled when leadership is lost.
// On SQLite (one process) this node always leads.
func (d *DB) Lead(ctx context.Context, name string, fn func(ctx context.Context)) {
	if d.pool == nil {
		fn(ctx)
		return
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("switchboard:" + name + d.suffix))
	key := int64(h.Sum64())
	for ctx.Err() == nil {
		d.leadOnce(ctx, key, fn)
		select {
		case <-ctx.Done():
		case <-time.After(LeaderRetry):
		}
	}
}

// LeaderRetry is how often a follower tries to take the lead.
var LeaderRetry = time.Second

func (d *DB) leadOnce(ctx context.Context, key int64, fn func(ctx context.Context)) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return
	}
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil || !got {
		conn.Release()
		return
	}
	leadCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		// Watch the connection that holds the lock: losing it loses the lead.
		defer close(done)
		tick := time.NewTicker(LeaderRetry)
		defer tick.Stop()
		for {
			select {
			case <-leadCtx.Done():
				return
			case <-tick.C:
				pctx, pcancel := context.WithTimeout(leadCtx, LeaderRetry)
				err := conn.Ping(pctx)
				pcancel()
				if err != nil && leadCtx.Err() == nil {
					d.log.Warn("lost the database connection holding leadership", "err", err)
					cancel()
					return
				}
			}
		}
	}()
	fn(leadCtx)
	cancel()
	<-done
	// Closing (not releasing) the connection ends the session and its lock.
	_ = conn.Conn().Close(context.Background())
	conn.Release()
}
