// Package seed makes the fixed data set `make bench` runs against, so that
// its numbers do not drift with whatever earlier runs left behind: the
// data set is built once into a Postgres template database by set-based SQL
// and each run gets a fresh file-level copy of it.
package seed

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboardhq/switchboard/internal/db"
)

// Dataset is the size of the fixed data set.
type Dataset struct {
	Conversations int
	// Messages are spread evenly, Messages/Conversations per conversation
	// with indexes 0..n-1; the first Messages%Conversations conversations
	// take one more.
	Messages int
}

// Fixed is the bench's data set (perf.md §3).
var Fixed = Dataset{Conversations: 100_000, Messages: 1_000_000}

// ProxyAddress is our side of every seeded SMS binding. Bench traffic uses
// other addresses, so it never lands in a seeded conversation by accident.
const ProxyAddress = "+19990000000"

// maxConversations keeps CustomerAddress within its seven digits.
const maxConversations = 9_999_999

// CustomerAddress is the SMS address of the customer in seeded conversation
// i (1-based). The newest tenth of the conversations (i > Conversations -
// Conversations/10) are active and bound to it; the rest are closed.
func CustomerAddress(i int) string { return fmt.Sprintf("+1999%07d", i) }

func (ds Dataset) validate() error {
	switch {
	case ds.Conversations < 1 || ds.Conversations > maxConversations:
		return fmt.Errorf("seed: %d conversations: want 1..%d", ds.Conversations, maxConversations)
	case ds.Messages < 0:
		return fmt.Errorf("seed: %d messages: want 0 or more", ds.Messages)
	}
	return nil
}

// planSQL lays out one row per conversation; every insert below reads it,
// so the SIDs, addresses and dates are derived in one place. The SIDs are
// md5 of a fixed text: deterministic, and shaped as sid makes them (two
// letters and 32 lowercase hex digits). Conversations are spaced evenly
// over 89 of the last 90 days, so their messages (a minute apart) all lie
// in the past.
const planSQL = `CREATE TEMP TABLE seed_plan ON COMMIT DROP AS
SELECT i,
       'CH' || md5('bench-conv-' || i) AS conversation_sid,
       'MB' || md5('bench-part-' || i) AS participant_sid,
       '+1999' || lpad(i::text, 7, '0') AS address,
       ?::int + (i <= ?::int)::int AS n,
       i > ?::int AS active,
       now() - interval '90 days' + (i - 1) * (interval '89 days' / ?::int) AS created
FROM generate_series(1, ?::int) AS i`

const conversationsSQL = `INSERT INTO conversations (sid, service_sid, friendly_name, attributes, state, bindings, next_index,
    date_created, date_updated)
SELECT conversation_sid, ?, '', '{}', CASE WHEN active THEN 'active' ELSE 'closed' END, '{}', n,
       created, created + n * interval '1 minute' + CASE WHEN active THEN interval '0' ELSE interval '1 hour' END
FROM seed_plan ORDER BY i`

const participantsSQL = `INSERT INTO participants (sid, service_sid, conversation_sid, channel_type, address, proxy_address,
    attributes, role_sid, notification_level, date_created, date_updated)
SELECT participant_sid, ?, conversation_sid, 'sms', address, ?, '{}', ?, 'default', created, created
FROM seed_plan ORDER BY i`

// Closing a conversation frees its binding, so only the active ones hold one.
const bindingsSQL = `INSERT INTO bindings (address, proxy_address, conversation_sid, participant_sid)
SELECT address, ?, conversation_sid, participant_sid FROM seed_plan WHERE active ORDER BY i`

// Messages go in in time order, as they would have arrived, so a
// conversation's messages share heap pages with its neighbours' as in a
// live database. Bodies are about 60 bytes.
const messagesSQL = `INSERT INTO messages (sid, service_sid, conversation_sid, idx, author, body, attributes, participant_sid,
    date_created)
SELECT 'IM' || md5('bench-msg-' || p.i || '-' || k), ?, p.conversation_sid, k, p.address,
       'Hello, this is message ' || k || ' of bench conversation ' || p.i || '. Thanks!', '{}', p.participant_sid,
       p.created + k * interval '1 minute'
FROM seed_plan p, generate_series(0, p.n - 1) AS k
ORDER BY p.created + k * interval '1 minute', p.i`

// Seed fills an already migrated and bootstrapped Postgres database (one
// account, its default Conversations service) with ds: every conversation
// has one SMS customer who wrote all its messages; the newest tenth are
// active and hold the customer's binding to ProxyAddress, the rest are
// closed. Exposed for tests.
func Seed(ctx context.Context, d *db.DB, ds Dataset) error {
	if err := ds.validate(); err != nil {
		return err
	}
	if d.Dialect != db.Postgres {
		return errors.New("seed: the bench data set is for Postgres only")
	}
	err := d.InTx(ctx, func(tx *db.Tx) error {
		var svc struct{ ServiceSid, RoleSid string }
		res := tx.Raw(`SELECT c.default_chat_service_sid AS service_sid, s.default_conversation_role_sid AS role_sid
			FROM configurations c JOIN services s ON s.sid = c.default_chat_service_sid`).Scan(&svc)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("want one account with its default service, found %d", res.RowsAffected)
		}
		n, m := ds.Conversations, ds.Messages
		steps := []struct {
			what string
			sql  string
			args []any
		}{
			// A commit of this size need not wait for its WAL flush: an
			// interrupted build is discarded anyway.
			{"settings", `SET LOCAL synchronous_commit = off`, nil},
			{"work memory", `SET LOCAL work_mem = '256MB'`, nil},
			{"plan", planSQL, []any{m / n, m % n, n - n/10, n, n}},
			{"conversations", conversationsSQL, []any{svc.ServiceSid}},
			{"participants", participantsSQL, []any{svc.ServiceSid, ProxyAddress, svc.RoleSid}},
			{"bindings", bindingsSQL, []any{ProxyAddress}},
			{"messages", messagesSQL, []any{svc.ServiceSid}},
		}
		for _, s := range steps {
			if err := tx.Exec(s.sql, s.args...).Error; err != nil {
				return fmt.Errorf("%s: %w", s.what, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	// Freezing sets every row's hint bits and the visibility map now, so
	// the bench's first reads neither write pages back nor miss
	// index-only scans; it also analyzes, so the planner knows the sizes.
	if err := d.Gorm.WithContext(ctx).Exec(`VACUUM (FREEZE, ANALYZE) conversations, participants, bindings, messages`).Error; err != nil {
		return fmt.Errorf("seed: vacuum: %w", err)
	}
	return nil
}
