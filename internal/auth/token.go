package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Twilio's error codes for refused access tokens. Every refusal is of kind
// errs.Unauthorized.
const (
	CodeInvalidToken          = 20101 // not a well-formed access token
	CodeInvalidTokenHeader    = 20102 // alg is not HS256, or cty is not twilio-fpa;v=1
	CodeInvalidTokenIssuer    = 20103 // iss is no usable API key of this account, or sub is not the account
	CodeTokenExpired          = 20104 // exp missing, past, or more than MaxTokenTTL after the start
	CodeTokenNotYetValid      = 20105 // nbf in the future
	CodeInvalidTokenGrants    = 20106 // no identity, or no chat grant with a service SID
	CodeInvalidTokenSignature = 20107 // signed with another secret
)

const (
	// MaxTokenTTL is the longest an access token may live, as at Twilio.
	MaxTokenTTL = 24 * time.Hour
	// tokenLeeway absorbs clock skew between the minting server and us, on
	// exp, nbf and the lifetime of tokens that carry no start time.
	tokenLeeway = 30 * time.Second
	// maxTokenLen bounds the work a hostile string can cause; real tokens
	// with every Twilio grant stay under 2 KB.
	maxTokenLen = 8 << 10
	// maxIdentity is the longest identity, the same as a Conversations
	// participant's.
	maxIdentity = 256
	// tokenContentType is the cty header of Twilio access tokens.
	tokenContentType = "twilio-fpa;v=1"
)

// AccessToken is what a verified (or freshly minted) access token says.
type AccessToken struct {
	AccountSid, KeySid, Identity, ChatServiceSid string
	// IssuedAt is the token's nbf, else its iat; zero when it carries neither.
	IssuedAt, ExpiresAt time.Time
}

// Tokens mints and verifies access tokens.
//
// The format is Twilio's (as twilio-go's client/jwt makes them): HS256,
// header cty "twilio-fpa;v=1", claims jti, iss (the signing API key SID),
// sub (the account SID), exp, nbf, and grants {identity, chat:{service_sid}}.
// Customers' back ends sign with an API key's secret; Switchboard signs the
// tokens it mints itself (webchat sessions) with an internal key.
type Tokens struct {
	store       *Store
	internalSid string
	internalKey []byte
}

// NewTokens returns Tokens that look API keys up in store and sign their own
// tokens with a key derived from internalSecret (at least 32 bytes, from the
// server secret), under an SK… SID also derived from it. That key has no
// api_keys row, so its tokens verify without one, on every node sharing the
// server secret. It panics on a shorter internalSecret, a wiring mistake.
func NewTokens(store *Store, internalSecret []byte) *Tokens {
	if len(internalSecret) < 32 {
		panic("auth.NewTokens: the internal secret must be at least 32 bytes")
	}
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, internalSecret)
		m.Write([]byte("switchboard access tokens " + purpose))
		return m.Sum(nil)
	}
	return &Tokens{
		store:       store,
		internalSid: sid.APIKey + hex.EncodeToString(derive("key sid")[:16]),
		internalKey: derive("signing key"),
	}
}

// claims is the payload of an access token.
type claims struct {
	jwt.RegisteredClaims
	Grants grants `json:"grants"`
}

type grants struct {
	Identity string     `json:"identity,omitempty"`
	Chat     *chatGrant `json:"chat,omitempty"`
}

type chatGrant struct {
	ServiceSid string `json:"service_sid,omitempty"`
}

// Mint signs a token for identity in the chat service chatServiceSid, valid
// from now for ttl (at most MaxTokenTTL), with the internal key.
func (t *Tokens) Mint(ctx context.Context, identity, chatServiceSid string, ttl time.Duration) (string, AccessToken, error) {
	switch {
	case identity == "":
		return "", AccessToken{}, errs.Invalidf("An access token needs an identity")
	case utf8.RuneCountInString(identity) > maxIdentity:
		return "", AccessToken{}, errs.Invalidf("Identity must be at most %d characters", maxIdentity)
	case !sid.Is(chatServiceSid, sid.Service):
		return "", AccessToken{}, errs.Invalidf("ChatServiceSid must be a Conversations service SID (IS…)")
	case ttl < time.Second || ttl > MaxTokenTTL:
		return "", AccessToken{}, errs.Invalidf("An access token must live between 1 second and %s", MaxTokenTTL)
	}
	acct, err := t.store.EnsureAccount(ctx)
	if err != nil {
		return "", AccessToken{}, err
	}
	// JWT times are whole seconds: round here so the AccessToken returned
	// equals what Verify reads back.
	now := time.Now().UTC().Truncate(time.Second)
	at := AccessToken{AccountSid: acct.Sid, KeySid: t.internalSid, Identity: identity, ChatServiceSid: chatServiceSid,
		IssuedAt: now, ExpiresAt: now.Add(ttl).Truncate(time.Second)}
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        fmt.Sprintf("%s-%d", t.internalSid, now.Unix()),
			Issuer:    t.internalSid,
			Subject:   acct.Sid,
			ExpiresAt: jwt.NewNumericDate(at.ExpiresAt),
			NotBefore: jwt.NewNumericDate(now),
		},
		Grants: grants{Identity: identity, Chat: &chatGrant{ServiceSid: chatServiceSid}},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["cty"] = tokenContentType
	signed, err := tok.SignedString(t.internalKey)
	if err != nil {
		return "", AccessToken{}, errs.Wrap(err, "sign access token")
	}
	return signed, at, nil
}

// Verify checks a token and returns what it grants. It accepts tokens
// signed with the internal key or with the secret of an API key of this
// account created with a sealer; it refuses, with Twilio's code, any other
// algorithm than HS256, a cty other than twilio-fpa;v=1, a token past its
// exp or before its nbf (30 s of leeway for clock skew), one living longer
// than MaxTokenTTL, and one without an identity and a chat grant naming a
// service. The token itself never appears in errors.
func (t *Tokens) Verify(ctx context.Context, token string) (AccessToken, error) {
	if len(token) > maxTokenLen {
		return AccessToken{}, refuse(CodeInvalidToken, "Invalid Access Token: longer than %d bytes", maxTokenLen)
	}
	now := time.Now()
	var c claims
	var accountSid string
	// keyErr keeps the key lookup's own error (a refusal, or a database or
	// sealer failure) apart from the parser's.
	var keyErr error
	parser := jwt.NewParser(jwt.WithExpirationRequired(), jwt.WithLeeway(tokenLeeway), jwt.WithTimeFunc(func() time.Time { return now }))
	_, err := parser.ParseWithClaims(token, &c, func(tok *jwt.Token) (any, error) {
		var key []byte
		switch cty, _ := tok.Header["cty"].(string); {
		case tok.Method.Alg() != jwt.SigningMethodHS256.Alg():
			keyErr = refuse(CodeInvalidTokenHeader, "Invalid Access Token header: the algorithm must be HS256")
		case cty != tokenContentType:
			keyErr = refuse(CodeInvalidTokenHeader, "Invalid Access Token header: cty must be %q", tokenContentType)
		default:
			accountSid, key, keyErr = t.signingKey(ctx, c.Issuer)
		}
		return key, keyErr
	})
	switch {
	case keyErr != nil:
		return AccessToken{}, errs.Wrap(keyErr, "verify access token")
	case err != nil:
		return AccessToken{}, tokenError(err)
	}
	if c.Subject != accountSid {
		return AccessToken{}, refuse(CodeInvalidTokenIssuer, "Invalid Access Token issuer/subject: sub is not the account of the signing key")
	}
	at := AccessToken{AccountSid: accountSid, KeySid: c.Issuer, Identity: c.Grants.Identity, ExpiresAt: c.ExpiresAt.Time.UTC()}
	// The lifetime runs from nbf, else iat; tokens with neither (Twilio's
	// libraries always send nbf) are measured from now, plus the leeway for
	// a minting clock ahead of ours.
	start := now.Add(tokenLeeway)
	switch {
	case c.NotBefore != nil:
		at.IssuedAt, start = c.NotBefore.Time.UTC(), c.NotBefore.Time
	case c.IssuedAt != nil:
		at.IssuedAt, start = c.IssuedAt.Time.UTC(), c.IssuedAt.Time
	}
	if at.ExpiresAt.Sub(start) > MaxTokenTTL {
		return AccessToken{}, refuse(CodeTokenExpired, "Access Token expiration date invalid: tokens live at most %s", MaxTokenTTL)
	}
	switch {
	case at.Identity == "":
		return AccessToken{}, refuse(CodeInvalidTokenGrants, "Invalid Access Token grants: no identity")
	case utf8.RuneCountInString(at.Identity) > maxIdentity:
		return AccessToken{}, refuse(CodeInvalidTokenGrants, "Invalid Access Token grants: identity longer than %d characters", maxIdentity)
	case c.Grants.Chat == nil:
		return AccessToken{}, refuse(CodeInvalidTokenGrants, "Invalid Access Token grants: no chat grant")
	case !sid.Is(c.Grants.Chat.ServiceSid, sid.Service):
		return AccessToken{}, refuse(CodeInvalidTokenGrants, "Invalid Access Token grants: the chat grant needs a service_sid (IS…)")
	}
	at.ChatServiceSid = c.Grants.Chat.ServiceSid
	return at, nil
}

// signingKey returns the account and the HMAC key of the signer iss.
func (t *Tokens) signingKey(ctx context.Context, iss string) (string, []byte, error) {
	if iss == t.internalSid {
		acct, err := t.store.EnsureAccount(ctx)
		return acct.Sid, t.internalKey, err
	}
	unknown := refuse(CodeInvalidTokenIssuer, "Invalid Access Token issuer/subject: iss is not an API key of this account")
	if !sid.Is(iss, sid.APIKey) {
		return "", nil, unknown
	}
	var key APIKey
	res := t.store.db.Gorm.WithContext(ctx).Where("sid = ?", iss).Limit(1).Find(&key)
	switch {
	case res.Error != nil:
		return "", nil, errs.Wrap(res.Error, "look up access token issuer")
	case res.RowsAffected == 0:
		return "", nil, unknown
	case key.SecretSealed == nil:
		return "", nil, refuse(CodeInvalidTokenIssuer, "Invalid Access Token issuer/subject: API key %s was created before Switchboard kept "+
			"API key secrets, so it cannot sign access tokens; create a new API key for them", key.Sid)
	case t.store.sealer == nil:
		return "", nil, errors.New("verify access token: the auth store has no sealer to open API key secrets")
	}
	secret, err := t.store.sealer.Open(*key.SecretSealed)
	if err != nil {
		return "", nil, fmt.Errorf("open the secret of API key %s: %w", key.Sid, err)
	}
	return key.AccountSid, []byte(secret), nil
}

// refuse is an access-token refusal with Twilio's code.
func refuse(code int, format string, args ...any) *errs.Error {
	return errs.E(errs.Unauthorized, code, format, args...)
}

// tokenError turns what the JWT parser reports into a refusal with Twilio's
// code.
func tokenError(err error) *errs.Error {
	switch {
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// Before the key lookup, only an alg the library does not know.
		return refuse(CodeInvalidTokenHeader, "Invalid Access Token header: the algorithm must be HS256")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return refuse(CodeInvalidTokenSignature, "Invalid Access Token signature")
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return refuse(CodeTokenExpired, "Access Token expired or expiration date invalid")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return refuse(CodeTokenNotYetValid, "Access Token not yet valid")
	}
	return refuse(CodeInvalidToken, "Invalid Access Token")
}
