// Package auth holds Switchboard's account, its API keys, the checks of the
// credentials presented to the REST API, and the access tokens (JWT) chat
// clients present.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/secrets"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Account is the installation's one Twilio-style account.
type Account struct {
	Sid          string
	FriendlyName string
	AuthToken    string
	DateCreated  time.Time
	DateUpdated  time.Time
}

// APIKey is a credential. Its secret is kept as a hash, which checks HTTP
// Basic, and sealed, so that the key can verify the access tokens signed
// with the secret.
type APIKey struct {
	Sid          string
	AccountSid   string
	FriendlyName string
	SecretHash   string
	// SecretSealed is the secret sealed by the Store's sealer; nil for keys
	// made before Switchboard kept secrets, or by a Store without a sealer.
	SecretSealed *string
	DateCreated  time.Time
	DateUpdated  time.Time
}

// Store reads and writes accounts and API keys.
type Store struct {
	db     *db.DB
	sealer *secrets.Sealer
	now    func() time.Time
}

// NewStore returns a Store over d. Its API keys authenticate REST calls but
// cannot sign access tokens: WithSealer makes one whose keys can.
func NewStore(d *db.DB) *Store {
	return &Store{db: d, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// WithSealer returns a copy of s that keeps new API keys' secrets sealed by
// sealer, so those keys can sign access tokens, and opens them to verify the
// tokens. Every node must use a sealer with the same key (the server secret).
func (s *Store) WithSealer(sealer *secrets.Sealer) *Store {
	c := *s
	c.sealer = sealer
	return &c
}

const alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomAlnum returns n characters drawn uniformly from [A-Za-z0-9]: the
// alphabet twilio-go's credential check accepts.
func randomAlnum(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:])
		for _, b := range buf {
			// 248 = 4*62: reject the tail so every character is equally likely.
			if b < 248 && len(out) < n {
				out = append(out, alphanumeric[int(b)%62])
			}
		}
	}
	return string(out)
}

// hashSecret hashes an API key secret. The secrets are 190 random bits, so a
// fast hash is enough: there is nothing to brute-force.
func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// EnsureAccount returns the installation's account, creating it (with a new
// auth token) on first use.
func (s *Store) EnsureAccount(ctx context.Context) (Account, error) {
	var acct Account
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		res := tx.Limit(1).Find(&acct)
		if res.Error != nil || res.RowsAffected == 1 {
			return res.Error
		}
		now := s.now()
		acct = Account{Sid: sid.New(sid.Account), FriendlyName: "Switchboard", AuthToken: randomAlnum(32),
			DateCreated: now, DateUpdated: now}
		return tx.Create(&acct).Error
	})
	return acct, errs.Wrap(err, "ensure account")
}

// CreateAPIKey makes a new key and returns it with its secret, which cannot
// be read again: it is stored hashed and, with a sealer, sealed.
func (s *Store) CreateAPIKey(ctx context.Context, friendlyName string) (APIKey, string, error) {
	if len(friendlyName) > 64 {
		return APIKey{}, "", errs.Invalidf("FriendlyName must be at most 64 characters")
	}
	acct, err := s.EnsureAccount(ctx)
	if err != nil {
		return APIKey{}, "", err
	}
	secret := randomAlnum(32)
	now := s.now()
	key := APIKey{Sid: sid.New(sid.APIKey), AccountSid: acct.Sid, FriendlyName: friendlyName,
		SecretHash: hashSecret(secret), DateCreated: now, DateUpdated: now}
	if s.sealer != nil {
		sealed, err := s.sealer.Seal(secret)
		if err != nil {
			return APIKey{}, "", errs.Wrap(err, "seal api key secret")
		}
		key.SecretSealed = &sealed
	}
	if err := s.db.Gorm.WithContext(ctx).Create(&key).Error; err != nil {
		return APIKey{}, "", errs.Wrap(err, "create api key")
	}
	return key, secret, nil
}

// Authenticate checks HTTP Basic credentials: the account SID with its auth
// token, or an API key SID with its secret. It returns the account SID.
func (s *Store) Authenticate(ctx context.Context, username, password string) (string, error) {
	denied := errs.E(errs.Unauthorized, errs.CodeAuth, "Authentication Error - invalid username")
	switch {
	case sid.Is(username, sid.Account):
		var acct Account
		res := s.db.Gorm.WithContext(ctx).Where("sid = ?", username).Limit(1).Find(&acct)
		if res.Error != nil {
			return "", errs.Wrap(res.Error, "authenticate")
		}
		if res.RowsAffected == 0 || subtle.ConstantTimeCompare([]byte(acct.AuthToken), []byte(password)) != 1 {
			return "", denied
		}
		return acct.Sid, nil
	case sid.Is(username, sid.APIKey):
		var key APIKey
		res := s.db.Gorm.WithContext(ctx).Where("sid = ?", username).Limit(1).Find(&key)
		if res.Error != nil {
			return "", errs.Wrap(res.Error, "authenticate")
		}
		if res.RowsAffected == 0 || subtle.ConstantTimeCompare([]byte(key.SecretHash), []byte(hashSecret(password))) != 1 {
			return "", denied
		}
		return key.AccountSid, nil
	}
	return "", denied
}
