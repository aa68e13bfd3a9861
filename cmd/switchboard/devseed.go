package main

import (
	"context"
	"maps"
	"time"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/simulator"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/webchat"
)

// Dev mode's pretend carrier: the senders a developer texts from /dev/phone.
const (
	devSimulatorName  = "Phone simulator (dev mode)"
	devSMSSender      = "+15550100"
	devWhatsAppSender = "whatsapp:+15550100"
	// devLatency is how long the pretend network takes to deliver, so a
	// person sees ✓ before ✓✓.
	devLatency = 700 * time.Millisecond
)

// startDevPhone builds the channel layer with dev mode's simulated carrier
// plugged in, and seeds what a first text from /dev/phone needs. build makes
// the channel layer from opts (channels.New with the server's other parts);
// the carrier needs the layer for its webhooks and the layer needs the
// carrier's factory, hence the callback. The caller closes the network.
func startDevPhone(ctx context.Context, opts channels.Options, build func(channels.Options) *channels.Service,
	conv *conversations.Engine) (*channels.Service, *simulator.Network, error) {
	var ch *channels.Service
	n := simulator.NewNetwork(func(ctx context.Context, providerSid string, r channels.Request) error {
		_, err := ch.Webhook(ctx, providerSid, r)
		return err
	}, simulator.Options{Latency: devLatency})
	opts.Factories = maps.Clone(opts.Factories)
	if opts.Factories == nil {
		opts.Factories = map[string]channels.Factory{}
	}
	opts.Factories[channels.KindSimulator] = simulator.NewFactory(n)
	ch = build(opts)
	if err := seedDevPhone(ctx, ch, conv, n.Token()); err != nil {
		n.Close()
		return nil, nil, err
	}
	return ch, n, nil
}

// seedDevPhone makes sure, on every dev start, that the simulator's phones
// can text the server: one simulator account holding this run's token,
// senders +15550100 and whatsapp:+15550100 on it, and address
// configurations that open a conversation on a first text. Configurations a
// developer already has are left as they are.
func seedDevPhone(ctx context.Context, ch *channels.Service, conv *conversations.Engine, token string) error {
	providers, err := ch.Providers(ctx)
	if err != nil {
		return err
	}
	var account channels.ProviderAccount
	for _, p := range providers {
		if p.Kind == channels.KindSimulator && p.FriendlyName == devSimulatorName {
			account = p
			break
		}
	}
	if account.Sid == "" {
		kind, name := channels.KindSimulator, devSimulatorName
		account, err = ch.CreateProvider(ctx, channels.ProviderParams{Kind: &kind, FriendlyName: &name, Secret: &token})
	} else {
		account, err = ch.UpdateProvider(ctx, account.Sid, channels.ProviderParams{Secret: &token})
	}
	if err != nil {
		return err
	}
	for _, s := range []struct{ typ, address string }{{"sms", devSMSSender}, {"whatsapp", devWhatsAppSender}} {
		if _, err := ch.PutSender(ctx, channels.SenderParams{Address: s.address, ProviderSid: account.Sid}); err != nil {
			return err
		}
		_, exists, err := conv.AddressConfigurationFor(ctx, s.address)
		if err != nil {
			return err
		}
		if exists {
			continue
		}
		enabled, kind, name := true, conversations.AutoCreationDefault, devSimulatorName
		if _, err := conv.CreateAddressConfiguration(ctx, conversations.AddressConfigurationParams{Type: &s.typ, Address: &s.address,
			FriendlyName: &name, AutoCreationEnabled: &enabled, AutoCreationType: &kind}); err != nil {
			return err
		}
	}
	return nil
}

// Dev mode's demo website chat.
const (
	devWebchatName    = "Demo website chat (dev mode)"
	devWebchatAddress = "webchat-demo"
)

// seedDevWebchat makes sure a webchat deployment exists for /webchat/demo
// and returns its key: a chat address configuration that opens a
// conversation per session, and a deployment on it. An existing one (found
// by name) is kept with its key, so an open demo tab survives a restart.
func seedDevWebchat(ctx context.Context, wc *webchat.Service, conv *conversations.Engine) (string, error) {
	deployments, _, err := wc.Deployments(ctx, conversations.Page{Limit: 1000})
	if err != nil {
		return "", err
	}
	for _, d := range deployments {
		if d.FriendlyName == devWebchatName {
			return d.Key, nil
		}
	}
	addr, exists, err := conv.AddressConfigurationFor(ctx, devWebchatAddress)
	if err != nil {
		return "", err
	}
	if !exists {
		typ, address, name := "chat", devWebchatAddress, devWebchatName
		enabled, kind := true, conversations.AutoCreationDefault
		if addr, err = conv.CreateAddressConfiguration(ctx, conversations.AddressConfigurationParams{Type: &typ, Address: &address,
			FriendlyName: &name, AutoCreationEnabled: &enabled, AutoCreationType: &kind}); err != nil {
			return "", err
		}
	}
	name, title := devWebchatName, "Switchboard demo"
	welcome := "Thanks for writing! An agent will be with you shortly."
	d, err := wc.CreateDeployment(ctx, webchat.DeploymentParams{FriendlyName: &name, AddressConfigurationSid: &addr.Sid,
		Title: &title, WelcomeMessage: &welcome})
	return d.Key, err
}
