package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/simulator"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/media"
	"github.com/switchboardhq/switchboard/internal/secrets"
	"github.com/switchboardhq/switchboard/internal/webchat"
)

// devStart is what one `serve --dev` start sets up of the channel layer.
type devStart struct {
	ch   *channels.Service
	conv *conversations.Engine
	net  *simulator.Network
}

func startDev(t *testing.T, d *db.DB) devStart {
	t.Helper()
	ctx := context.Background()
	acct, err := auth.NewStore(d).EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conversations.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	conv := conversations.New(d, acct.Sid)
	store, err := media.NewFS(filepath.Join(t.TempDir(), "media"))
	if err != nil {
		t.Fatal(err)
	}
	mediaSvc := media.New(d, store, bytes.Repeat([]byte("m"), 32), nil)
	sealer, err := secrets.New(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	ch, n, err := startDevPhone(ctx, channels.Options{}, func(o channels.Options) *channels.Service {
		return channels.New(d, conv, mediaSvc, sealer, o)
	}, conv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return devStart{ch: ch, conv: conv, net: n}
}

func (s devStart) text(t *testing.T, sender string) simulator.Message {
	t.Helper()
	k, err := simulator.NewKey("+15551230001", sender)
	if err != nil {
		t.Fatal(err)
	}
	senders, err := s.ch.Senders(context.Background())
	if err != nil || len(senders) == 0 {
		t.Fatalf("senders = %v, %v", senders, err)
	}
	m, err := s.net.Text(context.Background(), senders[0].ProviderSid, simulator.Text{Key: k, Body: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEveryDevStartSeedsOneSimulatorTheNewRunsPhonesCanText(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		first := startDev(t, d)
		if m := first.text(t, devSMSSender); m.Status != simulator.StatusAccepted {
			t.Fatalf("a first text on the first start = %+v, want accepted", m)
		}
		// A developer turns auto-creation off on the WhatsApp number.
		off := false
		if _, err := first.conv.UpdateAddressConfiguration(ctx, devWhatsAppSender, conversations.AddressConfigurationParams{AutoCreationEnabled: &off}); err != nil {
			t.Fatal(err)
		}

		second := startDev(t, d)
		providers, err := second.ch.Providers(ctx)
		if err != nil || len(providers) != 1 || providers[0].Kind != channels.KindSimulator {
			t.Fatalf("providers = %+v, %v; want the one simulator account", providers, err)
		}
		senders, err := second.ch.Senders(ctx)
		if err != nil || len(senders) != 2 {
			t.Fatalf("senders = %+v, %v; want the SMS and WhatsApp senders", senders, err)
		}
		for _, s := range senders {
			if s.ProviderSid != providers[0].Sid || (s.Address != devSMSSender && s.Address != devWhatsAppSender) {
				t.Fatalf("sender %+v, want +15550100 and whatsapp:+15550100 on %s", s, providers[0].Sid)
			}
		}
		for _, tc := range []struct {
			address string
			enabled bool
		}{{devSMSSender, true}, {devWhatsAppSender, false}} {
			a, ok, err := second.conv.AddressConfigurationFor(ctx, tc.address)
			if err != nil || !ok || a.AutoCreationEnabled != tc.enabled || a.AutoCreationType != conversations.AutoCreationDefault {
				t.Fatalf("address configuration of %s = %+v, %v, %v; want auto-creation %v (seeded once, the developer's change kept)",
					tc.address, a, ok, err, tc.enabled)
			}
		}
		if m := second.text(t, devSMSSender); m.Status != simulator.StatusAccepted {
			t.Fatalf("a text on the second start = %+v, want accepted", m)
		}
		if m := first.text(t, devSMSSender); m.Status != simulator.StatusFailed {
			t.Fatalf("a text with the first start's token = %+v, want refused", m)
		}
	})
}

func TestEveryDevStartKeepsOneDemoWebchatThatOpensSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := startDev(t, d)
		tokens := auth.NewTokens(auth.NewStore(d), bytes.Repeat([]byte("t"), 32))
		wc := webchat.New(d, s.conv, nil, tokens, webchat.Options{})
		first, err := seedDevWebchat(ctx, wc, s.conv)
		if err != nil {
			t.Fatal(err)
		}
		again, err := seedDevWebchat(ctx, wc, s.conv)
		if err != nil || again != first {
			t.Fatalf("a second start gave key %q (%v), want the first one kept", again, err)
		}
		started, err := wc.StartSession(ctx, webchat.SessionParams{DeploymentKey: first, FriendlyName: "Dana",
			Email: "dana@example.com", Query: "Where is my order?", Origin: "http://127.0.0.1:8080", OwnOrigin: "http://127.0.0.1:8080"})
		if err != nil {
			t.Fatalf("a demo session: %v", err)
		}
		ms, _, err := s.conv.Messages(ctx, started.ServiceSid, started.ConversationSid, false, conversations.Page{Limit: 10})
		if err != nil || len(ms) != 2 || *ms[0].Body != "Where is my order?" {
			t.Fatalf("the demo session's conversation has %d messages (%v), want the question then the welcome", len(ms), err)
		}
	})
}
