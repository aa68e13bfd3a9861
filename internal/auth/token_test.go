package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	twjwt "github.com/twilio/twilio-go/client/jwt"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/secrets"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// fixture is an account with a sealed API key, the Tokens that verify its
// tokens, and a chat service SID to grant.
type fixture struct {
	store      *auth.Store
	tokens     *auth.Tokens
	accountSid string
	key        auth.APIKey
	secret     string
	service    string
}

func newSealer(t *testing.T) *secrets.Sealer {
	t.Helper()
	sealer, err := secrets.New(bytes.Repeat([]byte("s"), 32))
	if err != nil {
		t.Fatal(err)
	}
	return sealer
}

func setup(t *testing.T, d *db.DB) fixture {
	t.Helper()
	store := auth.NewStore(d).WithSealer(newSealer(t))
	key, secret, err := store.CreateAPIKey(context.Background(), "token signer")
	if err != nil {
		t.Fatal(err)
	}
	return fixture{store: store, tokens: auth.NewTokens(store, bytes.Repeat([]byte("i"), 32)),
		accountSid: key.AccountSid, key: key, secret: secret, service: sid.New(sid.Service)}
}

// twilioToken is what a customer's back end makes with twilio-go.
func twilioToken(t *testing.T, p twjwt.AccessTokenParams) string {
	t.Helper()
	tok := twjwt.CreateAccessToken(p)
	s, err := tok.ToJwt()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// params are twilio-go parameters for a valid chat token of f's key.
func (f fixture) params() twjwt.AccessTokenParams {
	return twjwt.AccessTokenParams{AccountSid: f.accountSid, SigningKeySid: f.key.Sid, Secret: f.secret,
		Identity: "alice", Grants: []twjwt.BaseGrant{&twjwt.ChatGrant{ServiceSid: f.service}}}
}

// signed makes a token with any algorithm, header and claims.
func signed(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	maps.Copy(tok.Header, header)
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestATokenMintedByTwilioGoForAnAPIKeyVerifies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		p := f.params()
		p.Ttl = 7200
		before := time.Now().Truncate(time.Second)
		got, err := f.tokens.Verify(context.Background(), twilioToken(t, p))
		if err != nil {
			t.Fatal(err)
		}
		if got.AccountSid != f.accountSid || got.KeySid != f.key.Sid || got.Identity != "alice" || got.ChatServiceSid != f.service {
			t.Fatalf("verified %+v; want alice in %s, signed by %s of %s", got, f.service, f.key.Sid, f.accountSid)
		}
		if got.IssuedAt.Before(before) || got.ExpiresAt.Sub(got.IssuedAt) != 2*time.Hour {
			t.Fatalf("issued %v, expires %v; want from now (%v) for 2h", got.IssuedAt, got.ExpiresAt, before)
		}
	})
}

func TestMintedTokensVerifyAndHaveTwilioGosShape(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		token, minted, err := f.tokens.Mint(ctx, "guest-42", f.service, 15*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !sid.Is(minted.KeySid, sid.APIKey) || minted.KeySid == f.key.Sid || minted.AccountSid != f.accountSid {
			t.Fatalf("minted %+v; want an internal SK key of %s", minted, f.accountSid)
		}
		got, err := f.tokens.Verify(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if got != minted {
			t.Fatalf("verified %+v; want what Mint returned, %+v", got, minted)
		}
		again, _, err := auth.NewTokens(f.store, bytes.Repeat([]byte("i"), 32)).Mint(ctx, "guest-43", f.service, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tokens.Verify(ctx, again); err != nil {
			t.Fatalf("a token of another node with the same internal secret: %v", err)
		}

		ours, theirs := parts(t, token), parts(t, twilioToken(t, f.params()))
		for i, what := range []string{"header", "payload"} {
			if k1, k2 := slices.Sorted(maps.Keys(ours[i])), slices.Sorted(maps.Keys(theirs[i])); !slices.Equal(k1, k2) {
				t.Errorf("%s has %v; twilio-go's has %v", what, k1, k2)
			}
		}
		if ours[0]["cty"] != "twilio-fpa;v=1" || ours[0]["alg"] != "HS256" {
			t.Errorf("header = %v", ours[0])
		}
		grants, _ := json.Marshal(ours[1]["grants"])
		if want := `{"chat":{"service_sid":"` + f.service + `"},"identity":"guest-42"}`; string(grants) != want {
			t.Errorf("grants = %s; want %s", grants, want)
		}
		if jti, _ := ours[1]["jti"].(string); !strings.HasPrefix(jti, minted.KeySid+"-") {
			t.Errorf("jti = %q; want the key SID, a dash and the time, as twilio-go", jti)
		}
	})
}

// parts decodes a token's header and payload, unverified.
func parts(t *testing.T, token string) [2]map[string]any {
	t.Helper()
	var out [2]map[string]any
	segs := strings.Split(token, ".")
	for i := range out {
		raw, err := base64.RawURLEncoding.DecodeString(segs[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestMintRefusesBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		for _, tc := range []struct {
			name, identity, service string
			ttl                     time.Duration
		}{
			{"no identity", "", f.service, time.Hour},
			{"identity too long", strings.Repeat("x", 257), f.service, time.Hour},
			{"service not an IS SID", "alice", "default", time.Hour},
			{"no lifetime", "alice", f.service, 0},
			{"longer than 24 hours", "alice", f.service, 24*time.Hour + time.Second},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, _, err := f.tokens.Mint(context.Background(), tc.identity, tc.service, tc.ttl); errs.KindOf(err) != errs.Invalid {
					t.Fatalf("Mint = %v; want an Invalid error", err)
				}
			})
		}
	})
}

func TestVerifyRefusesBadTokensWithTwiliosCodes(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		legacy, legacySecret, err := auth.NewStore(d).CreateAPIKey(ctx, "made before sealing")
		if err != nil {
			t.Fatal(err)
		}
		otherServer, _, err := auth.NewTokens(f.store, bytes.Repeat([]byte("o"), 32)).Mint(ctx, "alice", f.service, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		now := float64(time.Now().Unix())
		with := func(change func(p *twjwt.AccessTokenParams)) string {
			p := f.params()
			change(&p)
			return twilioToken(t, p)
		}
		claims := func() jwt.MapClaims {
			return jwt.MapClaims{"jti": f.key.Sid + "-1", "iss": f.key.Sid, "sub": f.accountSid, "nbf": now, "exp": now + 3600,
				"grants": map[string]any{"identity": "alice", "chat": map[string]any{"service_sid": f.service}}}
		}
		cty := map[string]any{"cty": "twilio-fpa;v=1"}
		noExp := claims()
		delete(noExp, "exp")

		for _, tc := range []struct {
			name  string
			token string
			code  int
		}{
			{"garbage", "not-a-token", auth.CodeInvalidToken},
			{"empty", "", auth.CodeInvalidToken},
			{"longer than 8 KB", with(func(p *twjwt.AccessTokenParams) { p.Identity = strings.Repeat("a", 9000) }), auth.CodeInvalidToken},
			{"expired", with(func(p *twjwt.AccessTokenParams) { p.Nbf, p.ValidUntil = now-7200, now-3600 }), auth.CodeTokenExpired},
			{"no exp", signed(t, jwt.SigningMethodHS256, []byte(f.secret), cty, noExp), auth.CodeTokenExpired},
			{"living longer than 24 hours", with(func(p *twjwt.AccessTokenParams) { p.Ttl = 25 * 3600 }), auth.CodeTokenExpired},
			{"not yet valid", with(func(p *twjwt.AccessTokenParams) { p.Nbf = now + 3600 }), auth.CodeTokenNotYetValid},
			{"signed with another secret", with(func(p *twjwt.AccessTokenParams) { p.Secret = strings.Repeat("x", 32) }), auth.CodeInvalidTokenSignature},
			{"unknown key", with(func(p *twjwt.AccessTokenParams) { p.SigningKeySid = sid.New(sid.APIKey) }), auth.CodeInvalidTokenIssuer},
			{"issuer not a key SID", with(func(p *twjwt.AccessTokenParams) { p.SigningKeySid = f.accountSid }), auth.CodeInvalidTokenIssuer},
			{"key made without a sealed secret", with(func(p *twjwt.AccessTokenParams) { p.SigningKeySid, p.Secret = legacy.Sid, legacySecret }), auth.CodeInvalidTokenIssuer},
			{"another account's subject", with(func(p *twjwt.AccessTokenParams) { p.AccountSid = sid.New(sid.Account) }), auth.CodeInvalidTokenIssuer},
			{"minted by a server with another secret", otherServer, auth.CodeInvalidTokenIssuer},
			{"alg none", signed(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, cty, claims()), auth.CodeInvalidTokenHeader},
			{"alg HS512", signed(t, jwt.SigningMethodHS512, []byte(f.secret), cty, claims()), auth.CodeInvalidTokenHeader},
			{"alg RS256", signed(t, jwt.SigningMethodRS256, rsaKey, cty, claims()), auth.CodeInvalidTokenHeader},
			{"no cty", signed(t, jwt.SigningMethodHS256, []byte(f.secret), nil, claims()), auth.CodeInvalidTokenHeader},
			{"no chat grant", with(func(p *twjwt.AccessTokenParams) { p.Grants = nil }), auth.CodeInvalidTokenGrants},
			{"chat grant without service", with(func(p *twjwt.AccessTokenParams) { p.Grants = []twjwt.BaseGrant{&twjwt.ChatGrant{}} }), auth.CodeInvalidTokenGrants},
			{"no identity", with(func(p *twjwt.AccessTokenParams) { p.Identity = "" }), auth.CodeInvalidTokenGrants},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.tokens.Verify(ctx, tc.token)
				if errs.KindOf(err) != errs.Unauthorized || errs.CodeOf(err) != tc.code {
					t.Fatalf("Verify = %v (code %d); want Unauthorized %d", err, errs.CodeOf(err), tc.code)
				}
				if tc.token != "" && strings.Contains(err.Error(), tc.token) {
					t.Fatal("the error repeats the token")
				}
			})
		}
	})
}

func TestVerifyExplainsWhyALegacyKeyCannotSignTokens(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		legacy, secret, err := auth.NewStore(d).CreateAPIKey(context.Background(), "old")
		if err != nil {
			t.Fatal(err)
		}
		p := f.params()
		p.SigningKeySid, p.Secret = legacy.Sid, secret
		_, err = f.tokens.Verify(context.Background(), twilioToken(t, p))
		if err == nil || !strings.Contains(err.Error(), "create a new API key") {
			t.Fatalf("Verify = %v; want advice to create a new key", err)
		}
	})
}

func TestVerifyWithoutASealerIsAnInternalError(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		unsealed := auth.NewTokens(auth.NewStore(d), bytes.Repeat([]byte("i"), 32))
		if _, err := unsealed.Verify(context.Background(), twilioToken(t, f.params())); errs.KindOf(err) != errs.Internal {
			t.Fatalf("Verify = %v; want an internal error: the server is wired without a sealer", err)
		}
	})
}

func TestNewTokensRefusesAShortInternalSecret(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewTokens accepted a 31-byte internal secret")
		}
	}()
	auth.NewTokens(nil, make([]byte, 31))
}
