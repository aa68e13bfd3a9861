package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// Default session lifetimes: long enough for a shift with the desktop
// open, short enough that a forgotten browser does not stay signed in.
const (
	DefaultSessionIdle   = 8 * time.Hour
	DefaultSessionMaxAge = 12 * time.Hour
)

// touchEvery is how stale last_seen may get before a request refreshes it:
// idle expiry need not be exact, and a write per request would be waste.
const touchEvery = time.Minute

// SessionOptions bound how long a session lasts.
type SessionOptions struct {
	// Idle ends a session nobody has used for this long; 0 means
	// DefaultSessionIdle.
	Idle time.Duration
	// MaxAge ends a session this long after sign-in, used or not; 0 means
	// DefaultSessionMaxAge.
	MaxAge time.Duration
}

// Session is a signed-in browser.
type Session struct {
	StaffSid string
	// CSRF is the token every state-changing request of the session must
	// carry.
	CSRF string
	// IDToken is the provider's ID token, for RP-initiated logout; "" for
	// a sign-in without SSO.
	IDToken   string
	ExpiresAt time.Time
}

// sessionRow is a staff_sessions row.
type sessionRow struct {
	TokenHash   string `gorm:"primaryKey"`
	StaffSid    string
	CSRFToken   string `gorm:"column:csrf_token"`
	IDToken     string
	DateCreated time.Time
	LastSeen    time.Time
	ExpiresAt   time.Time
}

func (sessionRow) TableName() string { return "staff_sessions" }

func (r sessionRow) session() Session {
	return Session{StaffSid: r.StaffSid, CSRF: r.CSRFToken, IDToken: r.IDToken, ExpiresAt: r.ExpiresAt}
}

// Sessions keeps signed-in sessions in the database, so any node can check
// a cookie and signing out ends the session everywhere.
type Sessions struct {
	db   *db.DB
	opts SessionOptions
	now  func() time.Time
}

// NewSessions returns the session store over d.
func NewSessions(d *db.DB, o SessionOptions) *Sessions {
	if o.Idle <= 0 {
		o.Idle = DefaultSessionIdle
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultSessionMaxAge
	}
	return &Sessions{db: d, opts: o, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// SetClock replaces the clock (tests of expiry).
func (s *Sessions) SetClock(now func() time.Time) { s.now = now }

// MaxAge is how long a session can last at most: the session cookie's
// lifetime.
func (s *Sessions) MaxAge() time.Duration { return s.opts.MaxAge }

// randomToken returns 256 random bits, URL-safe.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Start opens a session for a member of staff who has just signed in and
// returns the token for their cookie. The browser's previous session, if
// it presented one, ends: every sign-in gets a fresh token, so a token
// planted before sign-in is worth nothing after it. Sessions past their
// time, anyone's, are swept out on the way.
func (s *Sessions) Start(ctx context.Context, staffSid, idToken, previousToken string) (string, Session, error) {
	token := randomToken()
	now := s.now()
	row := sessionRow{TokenHash: hashToken(token), StaffSid: staffSid, CSRFToken: randomToken(), IDToken: idToken,
		DateCreated: now, LastSeen: now, ExpiresAt: now.Add(s.opts.MaxAge)}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if previousToken != "" {
			if err := tx.Where("token_hash = ?", hashToken(previousToken)).Delete(&sessionRow{}).Error; err != nil {
				return err
			}
		}
		if err := tx.Where("expires_at < ? OR last_seen < ?", now, now.Add(-s.opts.Idle)).Delete(&sessionRow{}).Error; err != nil {
			return err
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return "", Session{}, errs.Wrap(err, "start session")
	}
	return token, row.session(), nil
}

// errSessionEnded is what an unknown, expired or signed-out token gets.
func errSessionEnded() error {
	return errs.E(errs.Unauthorized, errs.CodeAuth, "Your session has ended: sign in again")
}

// Check returns the session a cookie's token opens and its member of staff,
// and marks the session used. An unknown token, or a session idle or old
// past its limits, is Unauthorized.
func (s *Sessions) Check(ctx context.Context, token string) (Session, Staff, error) {
	if token == "" {
		return Session{}, Staff{}, errSessionEnded()
	}
	var row sessionRow
	q := s.db.Gorm.WithContext(ctx)
	res := q.Where("token_hash = ?", hashToken(token)).Limit(1).Find(&row)
	if res.Error != nil {
		return Session{}, Staff{}, errs.Wrap(res.Error, "session")
	}
	if res.RowsAffected == 0 {
		return Session{}, Staff{}, errSessionEnded()
	}
	now := s.now()
	if !now.Before(row.ExpiresAt) || now.Sub(row.LastSeen) >= s.opts.Idle {
		if err := q.Where("token_hash = ?", row.TokenHash).Delete(&sessionRow{}).Error; err != nil {
			return Session{}, Staff{}, errs.Wrap(err, "end session")
		}
		return Session{}, Staff{}, errSessionEnded()
	}
	var u staffUser
	if err := q.Where("sid = ?", row.StaffSid).First(&u).Error; err != nil {
		return Session{}, Staff{}, errs.Wrap(err, "session's staff")
	}
	if now.Sub(row.LastSeen) >= touchEvery {
		if err := q.Model(&row).Update("last_seen", now).Error; err != nil {
			return Session{}, Staff{}, errs.Wrap(err, "touch session")
		}
	}
	return row.session(), u.staff(), nil
}

// End signs a session out and returns what it was, for RP-initiated
// logout. A token that opens no session is Unauthorized.
func (s *Sessions) End(ctx context.Context, token string) (Session, error) {
	var row sessionRow
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		res := tx.Where("token_hash = ?", hashToken(token)).Limit(1).Find(&row)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		return tx.Delete(&row).Error
	})
	if err != nil {
		return Session{}, errs.Wrap(err, "end session")
	}
	if row.TokenHash == "" {
		return Session{}, errSessionEnded()
	}
	return row.session(), nil
}
