package seed_test

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/loadgen/seed"
)

// conversationSid is the SID Seed gives conversation i.
func conversationSid(i int) string {
	sum := md5.Sum(fmt.Appendf(nil, "bench-conv-%d", i))
	return "CH" + hex.EncodeToString(sum[:])
}

// bootstrapped opens a migrated Postgres schema and bootstraps it as the
// server does on first start.
func bootstrapped(t *testing.T) (*db.DB, string) {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t, db.Postgres)
	acct, err := auth.NewStore(d).EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conversations.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	if err := taskrouter.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	return d, acct.Sid
}

func ptr[T any](v T) *T { return &v }

func TestASeededActiveConversationReadsAndGrowsThroughTheEngine(t *testing.T) {
	ctx := context.Background()
	d, accountSid := bootstrapped(t)
	// 503 over 50: the first three conversations take an eleventh message.
	ds := seed.Dataset{Conversations: 50, Messages: 503}
	if err := seed.Seed(ctx, d, ds); err != nil {
		t.Fatal(err)
	}
	e := conversations.New(d, accountSid)
	var svc string
	if err := d.InTx(ctx, func(tx *db.Tx) (err error) { svc, err = e.DefaultServiceSid(tx); return err }); err != nil {
		t.Fatal(err)
	}

	const newest = 50 // the newest tenth (46..50) are active
	c, err := e.Conversation(ctx, svc, conversationSid(newest))
	if err != nil {
		t.Fatalf("the seeded active conversation is not found: %v", err)
	}
	if c.State != conversations.StateActive || c.NextIndex != 10 {
		t.Fatalf("conversation %d: state %s, next index %d; want active, 10", newest, c.State, c.NextIndex)
	}
	msgs, _, err := e.Messages(ctx, svc, c.Sid, false, conversations.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 10 {
		t.Fatalf("%d messages, want 10", len(msgs))
	}
	customer := seed.CustomerAddress(newest)
	for i, m := range msgs {
		if m.Index != int64(i) || m.Author != customer || m.ParticipantSid == nil || m.Body == nil {
			t.Fatalf("message %d: index %d, author %s, participant %v; want index %d by %s", i, m.Index, m.Author, m.ParticipantSid, i, customer)
		}
		if n := len(*m.Body); n < 50 || n > 70 {
			t.Errorf("message %d has a %d-byte body, want about 60", i, n)
		}
		if i > 0 && !m.DateCreated.After(msgs[i-1].DateCreated) {
			t.Errorf("message %d is not newer than message %d", i, i-1)
		}
	}

	added, err := e.AddMessage(ctx, svc, c.Sid, conversations.MessageParams{Author: ptr("agent"), Body: ptr("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if added.Index != 10 {
		t.Fatalf("an appended message got index %d, want 10", added.Index)
	}
	inC, in, err := e.Receive(ctx, conversations.InboundParams{Address: customer, ProxyAddress: seed.ProxyAddress,
		Message: conversations.MessageParams{Body: ptr("still there?"), Source: "SMS"}})
	if err != nil {
		t.Fatalf("the seeded binding did not route the customer's text: %v", err)
	}
	if inC.Sid != c.Sid || in.Index != 11 || in.ParticipantSid == nil {
		t.Fatalf("the customer's text landed in %s at index %d; want %s at 11, by its participant", inC.Sid, in.Index, c.Sid)
	}

	// A closed conversation has freed its binding: with no address
	// configuration to auto-create one, the text has nowhere to go.
	if _, _, err := e.Receive(ctx, conversations.InboundParams{Address: seed.CustomerAddress(1), ProxyAddress: seed.ProxyAddress,
		Message: conversations.MessageParams{Body: ptr("hello?")}}); errs.CodeOf(err) != errs.CodeNotFound {
		t.Fatalf("a text to a closed conversation's pair: %v, want not found", err)
	}

	var totals struct{ Conversations, Closed, Messages, Participants, Bindings, Mismatched int64 }
	if err := d.Gorm.Raw(`SELECT
		(SELECT COUNT(*) FROM conversations) AS conversations,
		(SELECT COUNT(*) FROM conversations WHERE state = 'closed') AS closed,
		(SELECT COUNT(*) FROM messages) AS messages,
		(SELECT COUNT(*) FROM participants) AS participants,
		(SELECT COUNT(*) FROM bindings) AS bindings,
		(SELECT COUNT(*) FROM conversations c WHERE next_index <> (SELECT COUNT(*) FROM messages m WHERE m.conversation_sid = c.sid)) AS mismatched`).
		Scan(&totals).Error; err != nil {
		t.Fatal(err)
	}
	// Two messages were added above.
	want := struct{ Conversations, Closed, Messages, Participants, Bindings, Mismatched int64 }{50, 45, 503 + 2, 50, 5, 0}
	if totals != want {
		t.Fatalf("seeded %+v, want %+v", totals, want)
	}
}

// adminDSN is TEST_DATABASE_URL, which Prepare creates databases beside.
func adminDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("TEST_DATABASE_URL")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_DATABASE_URL is not set, and CI must run the Postgres suites")
		}
		t.Skip("Postgres suite skipped: set TEST_DATABASE_URL=postgres://… to run it")
	}
	return dsn
}

func TestPrepareClonesOneTemplateBuiltOnceAndDropsStaleOnes(t *testing.T) {
	ctx := context.Background()
	admin := adminDSN(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "seedtest_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE left(datname, $1) = $2`, len(name), name)
		if err == nil {
			names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
			for _, n := range names {
				_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{n}.Sanitize()+` WITH (FORCE)`)
			}
		}
		_ = conn.Close(ctx)
	})
	databases := func() []string {
		t.Helper()
		rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE left(datname, $1) = $2 ORDER BY datname`, len(name), name)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	stale := name + "_seed_0123456789"
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+stale); err != nil {
		t.Fatal(err)
	}
	ds := seed.Dataset{Conversations: 20, Messages: 40}
	prepare := func() (string, []string) {
		t.Helper()
		var logged []string
		dsn, err := seed.Prepare(ctx, admin, name, ds, func(format string, args ...any) {
			logged = append(logged, fmt.Sprintf(format, args...))
		})
		if err != nil {
			t.Fatal(err)
		}
		return dsn, logged
	}
	count := func(dsn, query string) int {
		t.Helper()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var n int
		if err := c.QueryRow(ctx, query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	dsn, logged := prepare()
	if got := strings.Join(logged, "\n"); !strings.Contains(got, "building template") || !strings.Contains(got, "dropping stale template "+stale) {
		t.Fatalf("the first run should drop the stale template and build one; it logged:\n%s", got)
	}
	got := databases()
	if len(got) != 2 || got[0] != name || !strings.HasPrefix(got[1], name+"_seed_") || got[1] == stale {
		t.Fatalf("databases after the first run: %v, want %s and its new template", got, name)
	}
	if n := count(dsn, `SELECT COUNT(*) FROM messages`); n != 40 {
		t.Fatalf("the clone holds %d messages, want 40", n)
	}
	if n := count(dsn, `SELECT COUNT(*) FROM accounts`); n != 1 {
		t.Fatalf("the clone holds %d accounts, want the bootstrapped one", n)
	}
	if n := count(admin, `SELECT COUNT(*) FROM pg_database WHERE datname = '`+got[1]+`' AND datallowconn`); n != 0 {
		t.Fatal("the template accepts connections")
	}

	// What a run wrote to its copy is gone from the next run's.
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `DELETE FROM messages`); err != nil {
		t.Fatal(err)
	}
	_ = c.Close(ctx)
	dsn, logged = prepare()
	if log := strings.Join(logged, "\n"); strings.Contains(log, "building") {
		t.Fatalf("the second run rebuilt the template:\n%s", log)
	}
	if again := databases(); len(again) != 2 || again[1] != got[1] {
		t.Fatalf("databases after the second run: %v, want %v", again, got)
	}
	if n := count(dsn, `SELECT COUNT(*) FROM messages`); n != 40 {
		t.Fatalf("the second clone holds %d messages, want a fresh 40", n)
	}
}
