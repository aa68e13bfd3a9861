// Package webhooks sends the Conversations webhooks the way Twilio does:
// to the global, per-service and conversation-scoped targets, selected by
// their filters; pre-events synchronously before an action, able to refuse
// or amend it; post-events as durable jobs written with the change and
// retried until delivered. Requests are signed with X-Twilio-Signature
// (the account's auth token) so stock validators accept them, and never go
// to internal addresses unless configuration allows it.
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/webhooks/egress"
)

// JobKind is the kind of the durable job that delivers one post-event to one target.
const JobKind = "webhook.deliver"

// Timeout is how long Twilio waits for a Conversations webhook.
const Timeout = 5 * time.Second

// sourceAPI is the Source of changes made through the REST API.
const sourceAPI = "API"

// Accounts gives the account whose auth token signs the webhooks.
type Accounts interface {
	EnsureAccount(ctx context.Context) (auth.Account, error)
}

// Options configure a Service.
type Options struct {
	// AllowPrivate lists internal address ranges webhooks may still go to
	// (SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE), e.g. 127.0.0.0/8 for a receiver
	// on the same host.
	AllowPrivate []netip.Prefix
	// PreEventTimeout bounds the wait for a pre-event's answer; 0 means
	// Twilio's 5 s. Tests shorten it.
	PreEventTimeout time.Duration
	Log             *slog.Logger
}

// Service sends the webhooks of one account's conversations engine.
type Service struct {
	db         *db.DB
	accounts   Accounts
	accountSid string
	client     *http.Client
	preTimeout time.Duration
	log        *slog.Logger
	now        func() time.Time
	cache      configCache
	// studioNoted holds the studio webhooks already logged as not run.
	studioNoted sync.Map
}

// New returns the webhook service over d; Attach connects it to an engine.
func New(d *db.DB, accounts Accounts, o Options) *Service {
	s := &Service{db: d, accounts: accounts, client: egress.Client(o.AllowPrivate, Timeout),
		preTimeout: o.PreEventTimeout, log: o.Log, now: func() time.Time { return time.Now().UTC() }}
	if s.preTimeout <= 0 {
		s.preTimeout = Timeout
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.cache.now = s.now
	return s
}

// Attach makes the engine send its events here and ask its pre-events
// here. Call before serving.
func (s *Service) Attach(e *conversations.Engine) {
	s.accountSid = e.AccountSid()
	e.OnEvent(s.onChange)
	e.SetPreEventHook(s)
}

// RegisterJobs registers the delivery job's handler on the runner.
func (s *Service) RegisterJobs(r *jobs.Runner) { r.Handle(JobKind, s.deliver) }

// Watch keeps the configuration cache in step with changes committed on
// other nodes, until ctx ends. Call before serving.
func (s *Service) Watch(ctx context.Context) {
	evs, stop := events.NewBus(ctx, s.db, s.log).Subscribe(256)
	go func() {
		defer stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-evs:
				switch ev.Type {
				case events.ServiceUpdated, events.ServiceRemoved, events.ConfigurationUpdated:
					s.cache.invalidate(false)
				case events.ConversationWebhookAdded:
					s.cache.markScoped()
				}
			}
		}
	}()
}

// postEvents are the events that have post-event webhooks (user removal has none).
var postEvents = []events.Type{
	events.ConversationAdded, events.ConversationUpdated, events.ConversationRemoved, events.ConversationStateUpdated,
	events.MessageAdded, events.MessageUpdated, events.MessageRemoved,
	events.ParticipantAdded, events.ParticipantUpdated, events.ParticipantRemoved,
	events.UserAdded, events.UserUpdated, events.DeliveryUpdated,
}

// restAllowed applies Twilio's rule for REST-originated actions: they fire
// the service and global webhooks only when the request carried
// X-Twilio-Webhook-Enabled: true. SDK and channel actions always fire them.
func restAllowed(source string, o conversations.Origin) bool {
	return source != sourceAPI || o.WebhooksEnabled
}

// delivery is the payload of a delivery job: one event for one target.
type delivery struct {
	Event  string     `json:"event"`
	URL    string     `json:"url"`
	Method string     `json:"method"`
	Params url.Values `json:"params"`
	// Token is I-Twilio-Idempotency-Token, the same on every attempt, and
	// the job's dedupe key.
	Token string `json:"token"`
	// CountRetries adds RetryCount, as Conversations webhooks carry it.
	CountRetries bool `json:"count_retries,omitempty"`
}

// schedule writes the job that delivers d in tx, due now.
func (s *Service) schedule(tx *db.Tx, d delivery) error {
	if d.Method == "" {
		d.Method = http.MethodPost
	}
	payload, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return jobs.Schedule(tx, JobKind, d.Token, string(payload), s.now())
}

// EnqueueCallback writes in tx a durable job that POSTs params to target,
// signed and retried like the Conversations post-events. TaskRouter's
// workspace event callbacks go through it.
func (s *Service) EnqueueCallback(tx *db.Tx, event, target string, params url.Values) error {
	return s.schedule(tx, delivery{Event: event, URL: target, Params: params, Token: rand.Text()})
}

// destination is where one event goes.
type destination struct {
	key         string // names the target in the idempotency token
	url, method string
}

// onChange runs in the transaction of every engine event: it keeps the
// configuration cache current and turns post-events into delivery jobs.
func (s *Service) onChange(tx *db.Tx, c conversations.Change) error {
	switch c.Type {
	case events.ServiceUpdated, events.ServiceRemoved, events.ConfigurationUpdated:
		s.cache.invalidate(true)
		return nil
	case events.ConversationWebhookAdded:
		s.cache.markScoped()
		return nil
	}
	if !slices.Contains(postEvents, c.Type) {
		return nil
	}
	snap, err := s.cache.get(tx.DB)
	if err != nil {
		return err
	}
	var dests []destination
	if cfg, ok := snap.target(c.ServiceSid); ok && cfg.PostWebhookURL != "" && hears(cfg, string(c.Type)) && restAllowed(c.Source, c.Origin) {
		key := "global"
		if cfg.Scope != "" {
			key = cfg.Scope
		}
		dests = append(dests, destination{key: key, url: cfg.PostWebhookURL, method: cfg.Method})
	}
	var msg *conversations.Message
	if c.ConversationSid != "" && snap.scoped {
		var hooks []conversations.ConversationWebhook
		if err := tx.Where("conversation_sid = ?", c.ConversationSid).Order("date_created, sid").Find(&hooks).Error; err != nil {
			return err
		}
		for _, h := range hooks {
			switch h.Target {
			case conversations.ScopedTargetWebhook:
				if h.URL != "" && slices.Contains(h.FilterList(), string(c.Type)) {
					dests = append(dests, destination{key: h.Sid, url: h.URL, method: h.Method})
				}
			case conversations.ScopedTargetTrigger:
				if c.Type != events.MessageAdded || h.URL == "" {
					continue
				}
				if msg == nil {
					if msg, err = s.message(tx, c.Sid); err != nil {
						return err
					}
				}
				if msg.Body != nil && triggered(*msg.Body, h.TriggerList()) {
					dests = append(dests, destination{key: h.Sid, url: h.URL, method: h.Method})
				}
			case conversations.ScopedTargetStudio:
				// There is no Studio here to run the flow in; saying so
				// once per webhook is enough.
				if _, seen := s.studioNoted.LoadOrStore(h.Sid, true); !seen {
					s.log.Warn("conversation webhook targets a Studio flow, which Switchboard cannot run; its events are not sent",
						"webhook", h.Sid, "conversation", h.ConversationSid, "flow", h.FlowSid)
				}
			}
		}
	}
	if len(dests) == 0 {
		return nil
	}
	params, err := s.postParams(tx, c, msg)
	if err != nil {
		return err
	}
	event := rand.Text()
	for _, d := range dests {
		if err := s.schedule(tx, delivery{Event: string(c.Type), URL: d.url, Method: d.method, Params: params,
			Token: event + "-" + d.key, CountRetries: true}); err != nil {
			return err
		}
	}
	return nil
}

// keyword matches one trigger keyword as a whole word or phrase, ignoring case.
func keyword(k string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)(^|[^\pL\pN])` + regexp.QuoteMeta(k) + `($|[^\pL\pN])`)
}

// triggered reports whether a message body contains one of the keywords of
// a trigger webhook.
func triggered(body string, keywords []string) bool {
	for _, k := range keywords {
		if k = strings.TrimSpace(k); k != "" && keyword(k).MatchString(body) {
			return true
		}
	}
	return false
}

// message loads a message in tx.
func (s *Service) message(tx *db.Tx, sid string) (*conversations.Message, error) {
	var m conversations.Message
	err := tx.Where("sid = ?", sid).Limit(1).Find(&m).Error
	return &m, err
}

// postParams builds the form parameters of a post-event from the rows as
// tx sees them; msg is the event's message when already loaded.
func (s *Service) postParams(tx *db.Tx, c conversations.Change, msg *conversations.Message) (url.Values, error) {
	v := common(s.accountSid, string(c.Type), c.ServiceSid, c.Source, c.Origin)
	var removed *time.Time
	switch c.Type {
	case events.MessageRemoved, events.ConversationRemoved, events.ParticipantRemoved:
		now := s.now()
		removed = &now
	}
	var conv conversations.Conversation
	if c.ConversationSid != "" {
		if err := tx.Where("sid = ?", c.ConversationSid).Limit(1).Find(&conv).Error; err != nil {
			return nil, err
		}
	}
	switch c.Type {
	case events.MessageAdded, events.MessageUpdated, events.MessageRemoved:
		if msg == nil {
			var err error
			if msg, err = s.message(tx, c.Sid); err != nil {
				return nil, err
			}
		}
		addMessage(v, *msg, conv, removed)
	case events.ConversationAdded, events.ConversationUpdated, events.ConversationRemoved:
		addConversation(v, conv, removed)
	case events.ConversationStateUpdated:
		addState(v, conv, c.StateFrom, c.StateTo, c.Reason)
	case events.ParticipantAdded, events.ParticipantUpdated, events.ParticipantRemoved:
		var p conversations.Participant
		if err := tx.Where("sid = ?", c.Sid).Limit(1).Find(&p).Error; err != nil {
			return nil, err
		}
		addParticipant(v, p, removed)
	case events.UserAdded, events.UserUpdated:
		var u conversations.User
		if err := tx.Where("sid = ?", c.Sid).Limit(1).Find(&u).Error; err != nil {
			return nil, err
		}
		addUser(v, u)
	case events.DeliveryUpdated:
		if c.Receipt != nil {
			addReceipt(v, *c.Receipt)
		}
	}
	return v, nil
}
