package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// clock is a settable time for sessions.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newSessions(t *testing.T, d *db.DB, o auth.SessionOptions) (*auth.Sessions, *clock, auth.Staff) {
	t.Helper()
	staff, err := auth.NewDirectory(d, &placer{}).Provision(context.Background(), "ana@example.com", "Ana", auth.RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s := auth.NewSessions(d, o)
	s.SetClock(c.now)
	return s, c, staff
}

func TestASessionOpensWithItsTokenOnlyAndTheDatabaseKeepsAHash(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sessions, _, staff := newSessions(t, d, auth.SessionOptions{})
		token, started, err := sessions.Start(ctx, staff.Sid, "id-token", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(token) < 43 || len(started.CSRF) < 43 || started.CSRF == token {
			t.Fatalf("token %q, CSRF %q; want two distinct 256-bit tokens", token, started.CSRF)
		}
		sess, who, err := sessions.Check(ctx, token)
		if err != nil || who.Sid != staff.Sid || who.WorkerSid != staff.WorkerSid || sess.CSRF != started.CSRF || sess.IDToken != "id-token" {
			t.Fatalf("Check = %+v, %+v, %v", sess, who, err)
		}
		for _, bad := range []string{"", token + "x", strings.ToUpper(token)} {
			if _, _, err := sessions.Check(ctx, bad); errs.KindOf(err) != errs.Unauthorized {
				t.Errorf("Check(%q) = %v; want Unauthorized", bad, err)
			}
		}
		var stored []string
		if err := d.Gorm.Raw("SELECT token_hash FROM staff_sessions").Scan(&stored).Error; err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || stored[0] == token || strings.Contains(stored[0], token) {
			t.Fatalf("stored %v; want one hash, not the token", stored)
		}
	})
}

func TestEverySignInGetsAFreshTokenAndEndsTheBrowsersPreviousSession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sessions, _, staff := newSessions(t, d, auth.SessionOptions{})
		first, _, err := sessions.Start(ctx, staff.Sid, "", "")
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := sessions.Start(ctx, staff.Sid, "", "") // another browser
		if err != nil {
			t.Fatal(err)
		}
		second, _, err := sessions.Start(ctx, staff.Sid, "", first)
		if err != nil {
			t.Fatal(err)
		}
		if second == first {
			t.Fatal("the sign-in kept the old token")
		}
		if _, _, err := sessions.Check(ctx, first); errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("the replaced token: %v; want Unauthorized", err)
		}
		for _, tok := range []string{second, other} {
			if _, _, err := sessions.Check(ctx, tok); err != nil {
				t.Fatalf("a live session: %v", err)
			}
		}
	})
}

func TestASessionEndsWhenIdleOrTooOld(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sessions, c, staff := newSessions(t, d, auth.SessionOptions{Idle: time.Hour, MaxAge: 3 * time.Hour})
		idle, _, err := sessions.Start(ctx, staff.Sid, "", "")
		if err != nil {
			t.Fatal(err)
		}
		busy, _, err := sessions.Start(ctx, staff.Sid, "", "")
		if err != nil {
			t.Fatal(err)
		}
		// busy is used every 50 minutes; idle is not.
		for range 3 {
			c.advance(50 * time.Minute)
			if _, _, err := sessions.Check(ctx, busy); err != nil {
				t.Fatalf("a session in use after %v: %v", c.t.Sub(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), err)
			}
		}
		if _, _, err := sessions.Check(ctx, idle); errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("a session idle for 150 minutes (limit 60): %v; want Unauthorized", err)
		}
		c.advance(31 * time.Minute) // 3h01m after sign-in
		if _, _, err := sessions.Check(ctx, busy); errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("a session past its 3-hour maximum: %v; want Unauthorized", err)
		}
		var left int64
		if err := d.Gorm.Raw("SELECT COUNT(*) FROM staff_sessions").Scan(&left).Error; err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Fatalf("%d ended sessions still stored", left)
		}
	})
}

func TestEndSignsOutOnceAndReturnsTheIDTokenForLogout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sessions, _, staff := newSessions(t, d, auth.SessionOptions{})
		token, _, err := sessions.Start(ctx, staff.Sid, "the-id-token", "")
		if err != nil {
			t.Fatal(err)
		}
		ended, err := sessions.End(ctx, token)
		if err != nil || ended.IDToken != "the-id-token" || ended.StaffSid != staff.Sid {
			t.Fatalf("End = %+v, %v", ended, err)
		}
		if _, _, err := sessions.Check(ctx, token); errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("after End: %v; want Unauthorized", err)
		}
		if _, err := sessions.End(ctx, token); errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("a second End: %v; want Unauthorized", err)
		}
	})
}

func TestStartSweepsOutEveryonesExpiredSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sessions, c, staff := newSessions(t, d, auth.SessionOptions{Idle: time.Hour})
		for range 3 {
			if _, _, err := sessions.Start(ctx, staff.Sid, "", ""); err != nil {
				t.Fatal(err)
			}
		}
		c.advance(2 * time.Hour)
		if _, _, err := sessions.Start(ctx, staff.Sid, "", ""); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := d.Gorm.Raw("SELECT COUNT(*) FROM staff_sessions").Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("%d sessions stored; want only the new one", n)
		}
	})
}
