package auth_test

import (
	"context"
	"testing"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func TestAPIKeysAuthenticateWhetherOrNotTheirSecretIsSealed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sealer := newSealer(t)
		for name, store := range map[string]*auth.Store{"sealed": auth.NewStore(d).WithSealer(sealer), "hash only": auth.NewStore(d)} {
			t.Run(name, func(t *testing.T) {
				key, secret, err := store.CreateAPIKey(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				if acct, err := store.Authenticate(ctx, key.Sid, secret); err != nil || acct != key.AccountSid {
					t.Fatalf("Authenticate(key, secret) = %q, %v; want %s", acct, err, key.AccountSid)
				}
				if _, err := store.Authenticate(ctx, key.Sid, secret+"x"); errs.KindOf(err) != errs.Unauthorized {
					t.Fatalf("a wrong secret: %v; want Unauthorized", err)
				}
			})
		}
	})
}

func TestASealedSecretIsStoredEncryptedAndOpensToTheSecret(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		sealer := newSealer(t)
		key, secret, err := auth.NewStore(d).WithSealer(sealer).CreateAPIKey(context.Background(), "sealed")
		if err != nil {
			t.Fatal(err)
		}
		var stored *string
		if err := d.Gorm.Raw("SELECT secret_sealed FROM api_keys WHERE sid = ?", key.Sid).Scan(&stored).Error; err != nil {
			t.Fatal(err)
		}
		if stored == nil || *stored == secret {
			t.Fatalf("secret_sealed = %v; want the secret encrypted", stored)
		}
		if opened, err := sealer.Open(*stored); err != nil || opened != secret {
			t.Fatalf("the sealed secret opens to %q, %v; want the secret", opened, err)
		}
	})
}
