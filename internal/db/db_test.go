package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

func TestNotificationsArriveOnlyAfterCommit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		got := make(chan string, 4)
		d.Listen(ctx, "test_channel", func(p string) { got <- p })
		time.Sleep(50 * time.Millisecond) // let a Postgres listener attach

		rollback := errors.New("roll back")
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if err := tx.Notify("test_channel", "rolled-back"); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("InTx = %v, want the rollback error", err)
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error { return tx.Notify("test_channel", "committed") }); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-got:
			if p != "committed" {
				t.Fatalf("first notification = %q, want only the committed one", p)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no notification after commit")
		}
		select {
		case p := <-got:
			t.Fatalf("unexpected extra notification %q", p)
		case <-time.After(100 * time.Millisecond):
		}
	})
}

func TestATransactionsNotificationsArriveInOrderAndRepeatsOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		got := make(chan string, 16)
		d.Listen(ctx, "test_channel", func(p string) { got <- "test:" + p })
		d.Listen(ctx, "other_channel", func(p string) { got <- "other:" + p })
		// A Postgres listener attaches channels registered while it waits a
		// moment later: probe both until each answers.
		for _, probe := range []struct{ channel, want string }{{"test_channel", "test:probe"}, {"other_channel", "other:probe"}} {
			deadline := time.Now().Add(10 * time.Second)
		attach:
			for {
				if err := d.Notify(ctx, probe.channel, "probe"); err != nil {
					t.Fatal(err)
				}
				select {
				case p := <-got:
					if p == probe.want {
						break attach
					}
				case <-time.After(100 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("the listener never attached %s", probe.channel)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
		for len(got) > 0 {
			<-got // late answers to the probes
		}
		sent := []struct{ channel, payload string }{{"test_channel", "1"}, {"other_channel", "2"}, {"test_channel", "3"},
			{"test_channel", "1"}, {"test_channel", "it's \\ 'quoted'"}}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			for _, n := range sent {
				if err := tx.Notify(n.channel, n.payload); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := []string{"test:1", "other:2", "test:3", "test:it's \\ 'quoted'"}
		for _, w := range want {
			select {
			case p := <-got:
				if p != w {
					t.Fatalf("notification = %q, want %q (all in order: %q)", p, w, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no notification %q", w)
			}
		}
		select {
		case p := <-got:
			t.Fatalf("unexpected extra notification %q (a repeat is sent once)", p)
		case <-time.After(100 * time.Millisecond):
		}
	})
}

func TestTimesRoundTripInUTCAndSort(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		for i, at := range []time.Time{base.Add(time.Second), base, base.Add(1500 * time.Microsecond)} {
			err := d.Gorm.WithContext(ctx).Exec(
				"INSERT INTO jobs (kind, payload, run_at, date_created, date_updated) VALUES (?, ?, ?, ?, ?)",
				"k", string(rune('a'+i)), at, at, at).Error
			if err != nil {
				t.Fatal(err)
			}
		}
		var rows []struct {
			Payload string
			RunAt   time.Time
		}
		if err := d.Gorm.Raw("SELECT payload, run_at FROM jobs ORDER BY run_at").Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 || rows[0].Payload != "b" || rows[1].Payload != "c" || rows[2].Payload != "a" {
			t.Fatalf("order = %+v, want b, c, a", rows)
		}
		if !rows[0].RunAt.Equal(base) {
			t.Fatalf("run_at = %v, want %v", rows[0].RunAt, base)
		}
	})
}

func TestNotifyOutsideATransactionArrivesAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		got := make(chan string, 4)
		d.Listen(ctx, "test_signal", func(p string) { got <- p })
		// A Postgres listener takes a moment to attach: notify until heard.
		deadline := time.After(5 * time.Second)
		for heard := false; !heard; {
			if err := d.Notify(ctx, "test_signal", "typing"); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-got:
				if p != "typing" {
					t.Fatalf("notification = %q, want typing", p)
				}
				heard = true
			case <-time.After(100 * time.Millisecond):
			case <-deadline:
				t.Fatal("Notify never reached the listener")
			}
		}
		cancel()
		if err := d.Notify(ctx, "test_signal", "late"); err == nil {
			t.Fatal("Notify with an ended context succeeded")
		}
	})
}
