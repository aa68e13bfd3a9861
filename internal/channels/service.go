package channels

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/secrets"
)

// Conversations is what the channel layer needs of the conversations engine.
type Conversations interface {
	Receive(ctx context.Context, p conversations.InboundParams) (conversations.Conversation, conversations.Message, error)
	InboundServiceSid(ctx context.Context, address, proxyAddress string) (string, error)
	Message(ctx context.Context, serviceSid, conversationKey, messageSid string) (conversations.Message, error)
	RecordReceipt(ctx context.Context, messageSid, participantSid, channelMessageSid, status string, errorCode int) (conversations.DeliveryReceipt, error)
	Receipts(ctx context.Context, serviceSid, conversationKey, messageSid string, p conversations.Page) ([]conversations.DeliveryReceipt, bool, error)
	ParticipantsTx(tx *db.Tx, conversationSid string) ([]conversations.Participant, error)
	OnMessageAdded(h conversations.MessageHook)
}

// MediaStore keeps attachments: inbound ones fetched from carriers, and
// outbound ones carriers fetch from us through signed URLs.
type MediaStore interface {
	// Save stores an attachment in a service, ready to link to a message.
	Save(ctx context.Context, serviceSid, contentType, filename, author string, body io.Reader) (conversations.Media, error)
	// Check refuses media a channel (sms, whatsapp) cannot carry, with Twilio's codes.
	Check(channel string, media []conversations.Media) error
	// SignedURL is the path of a public, expiring URL of an attachment's content.
	SignedURL(mediaSid string, ttl time.Duration) string
}

// Factory builds a provider for one configured carrier account.
type Factory func(cfg Config) (Provider, error)

// Options configure a Service.
type Options struct {
	Log *slog.Logger
	// PublicURL is the base URL carriers reach this server at; webhook and
	// status callback URLs are built on it.
	PublicURL string
	// Factories build providers by kind. A kind without a factory cannot be
	// configured (the simulator's is only wired in dev mode).
	Factories map[string]Factory
	// StatusGrace is how long a delivery interrupted mid-send waits for a
	// status callback naming it, on carriers that cannot be asked, before it
	// is sent again. Default 2 minutes.
	StatusGrace time.Duration
	// MaxAttempts bounds the attempts of one delivery (sends, and failed
	// lookups of a send in doubt) before it fails. Default 8: below the job
	// runner's ten runs, so that the delivery, not its job, gives up.
	MaxAttempts int
	Now         func() time.Time
}

// Service is the channel layer: carrier configuration, inbound messages,
// outbound deliveries and status callbacks.
type Service struct {
	db     *db.DB
	conv   Conversations
	media  MediaStore
	sealer *secrets.Sealer
	opts   Options
	log    *slog.Logger

	mu        sync.Mutex
	providers map[string]cachedProvider
	senders   map[string]cachedSender
	limiters  map[string]*senderLimits
}

// configFresh is how long a sender read from the database is trusted
// before it is read again: a carrier's stream of webhooks then costs a
// read a second, not one per message. Changes made on this node apply at
// once; on another node, within it. Accounts are read on every webhook:
// a rotated secret must stop verifying at once on every node.
const configFresh = time.Second

type cachedProvider struct {
	provider Provider
	account  ProviderAccount
}

type cachedSender struct {
	sender Sender
	found  bool
	read   time.Time
}

// Job kinds of the channel layer.
const (
	jobDeliver = "channels.deliver"
	jobInbound = "channels.inbound"
)

// New returns the channel layer and hooks it into the engine's message path,
// so that every message to a conversation with SMS or WhatsApp participants
// gets its deliveries in the same transaction.
func New(d *db.DB, conv Conversations, media MediaStore, sealer *secrets.Sealer, opts Options) *Service {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.StatusGrace == 0 {
		opts.StatusGrace = 2 * time.Minute
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 8
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	s := &Service{db: d, conv: conv, media: media, sealer: sealer, opts: opts, log: opts.Log,
		providers: map[string]cachedProvider{}, senders: map[string]cachedSender{}, limiters: map[string]*senderLimits{}}
	conv.OnMessageAdded(s.onMessage)
	return s
}

// RegisterJobs tells the job runner how to run the layer's jobs.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(jobDeliver, s.runDeliver)
	r.Handle(jobInbound, s.runInbound)
}

func (s *Service) read(ctx context.Context) *gorm.DB { return s.db.Gorm.WithContext(ctx) }

// WebhookURL is where a provider account's carrier sends inbound messages
// and status callbacks.
func (s *Service) WebhookURL(providerSid string) string {
	return s.opts.PublicURL + "/channels/" + providerSid
}

// provider returns the live provider of an account, rebuilt when the
// account's configuration changed.
func (s *Service) provider(ctx context.Context, providerSid string) (Provider, ProviderAccount, error) {
	a, err := s.Provider(ctx, providerSid)
	if err != nil {
		return nil, a, err
	}
	s.mu.Lock()
	c, ok := s.providers[providerSid]
	s.mu.Unlock()
	if !ok || !c.account.DateUpdated.Equal(a.DateUpdated) {
		factory, known := s.opts.Factories[a.Kind]
		if !known {
			// The dev simulator's accounts outlive a run with --dev.
			return nil, a, errs.NotFoundf("Provider %s is a %s account, which this server does not run", a.Sid, a.Kind)
		}
		cfg, err := s.config(a)
		if err != nil {
			return nil, a, err
		}
		if c.provider, err = factory(cfg); err != nil {
			return nil, a, errs.Wrap(err, "provider "+a.Sid)
		}
	}
	c.account = a
	s.mu.Lock()
	s.providers[a.Sid] = c
	s.mu.Unlock()
	return c.provider, a, nil
}

// sender loads the configuration of one of our addresses.
func (s *Service) sender(ctx context.Context, address string) (Sender, bool, error) {
	s.mu.Lock()
	c, ok := s.senders[address]
	s.mu.Unlock()
	if ok && time.Since(c.read) < configFresh {
		return c.sender, c.found, nil
	}
	var snd Sender
	res := s.read(ctx).Where("address = ?", address).Limit(1).Find(&snd)
	if res.Error != nil {
		return snd, false, errs.Wrap(res.Error, "sender")
	}
	s.mu.Lock()
	s.senders[address] = cachedSender{sender: snd, found: res.RowsAffected == 1, read: time.Now()}
	s.mu.Unlock()
	return snd, res.RowsAffected == 1, nil
}

// forget drops what is kept of a carrier account and a sender this node
// just changed, so the change applies here at once.
func (s *Service) forget(providerSid, address string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.providers, providerSid)
	delete(s.senders, address)
	delete(s.limiters, address)
}

// config opens an account's sealed secrets into a provider Config.
func (s *Service) config(a ProviderAccount) (Config, error) {
	cfg := Config{Sid: a.Sid, Kind: a.Kind, AccountID: a.AccountID, BaseURL: a.BaseURL, WebhookURL: s.WebhookURL(a.Sid)}
	for _, f := range []struct {
		dst    *string
		sealed string
	}{{&cfg.Secret, a.Secret}, {&cfg.AppSecret, a.AppSecret}, {&cfg.VerifyToken, a.VerifyToken}} {
		v, err := s.sealer.Open(f.sealed)
		if err != nil {
			return cfg, errs.Wrap(err, "provider "+a.Sid+" secrets")
		}
		*f.dst = v
	}
	if err := json.Unmarshal([]byte(a.Templates), &cfg.Templates); err != nil {
		return cfg, errs.Wrap(err, "provider "+a.Sid+" templates")
	}
	return cfg, nil
}

// HTTPClient is the client providers use: bounded, so a hung carrier cannot
// hold a delivery job forever.
func HTTPClient() *http.Client { return &http.Client{Timeout: 30 * time.Second} }
