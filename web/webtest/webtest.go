// Package webtest runs a real Switchboard server on 127.0.0.1:0 over a real
// database and hands tests the official twilio-go client pointed at it.
package webtest

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/insights"
	"github.com/switchboardhq/switchboard/interactions/supervise"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/twiliomsg"
	"github.com/switchboardhq/switchboard/internal/channels/whatsapp"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/media"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/internal/secrets"
	"github.com/switchboardhq/switchboard/internal/webchat"
	"github.com/switchboardhq/switchboard/internal/webhooks"
	"github.com/switchboardhq/switchboard/web"
)

// Server is a running test server.
type Server struct {
	URL        string
	DB         *db.DB
	Engine     *conversations.Engine
	TaskRouter *taskrouter.Engine
	// Jobs runs the durable jobs; tests drive it with RunDue.
	Jobs *jobs.Runner
	// Media is the media service; MediaDir holds its stored files.
	Media    *media.Service
	MediaDir string
	// Router routes tasks; tests drive it with RouteWorkspace.
	Router *taskrouter.Router
	// Channels carries SMS and WhatsApp through the Twilio and WhatsApp
	// Cloud providers (point their accounts' BaseUrl at fakes); status
	// callbacks and signed media URLs use URL.
	Channels *channels.Service
	// Webhooks sends the engine's webhooks; receivers on 127.0.0.1 are allowed.
	Webhooks *webhooks.Service
	// Webchat runs webchat deployments and sessions.
	Webchat *webchat.Service
	// Hub fans committed events out to chat sockets.
	Hub *realtime.Hub
	// Accounts holds the account and its API keys; Tokens mints and
	// verifies chat access tokens.
	Accounts   *auth.Store
	Tokens     *auth.Tokens
	AccountSid string
	AuthToken  string
	// Twilio is twilio-go authenticated with the account's auth token.
	Twilio *twilio.RestClient
	// Staff are the members of staff, provisioned in the oldest workspace,
	// and Sessions their sign-in sessions (see SignIn).
	Staff    *auth.Directory
	Sessions *auth.Sessions
	// Desk is the agent desktop's service.
	Desk *desk.Service
	// Supervise and Insights are the supervisor's services.
	Supervise *supervise.Service
	Insights  *insights.Service
	// Routes are every route the app serves (not middleware), for tests
	// that check a rule holds on all of them.
	Routes []fiber.Route
}

// Option adjusts the server Start boots.
type Option func(*options)

type options struct {
	webhooks webhooks.Options
	hub      realtime.Options
	webchat  webchat.Options
	sso      *auth.SSO
	dev      bool
}

// WithSSO has staff sign in through sso (its issuer: an in-process
// provider); the callback is the server's own /auth/callback.
func WithSSO(sso *auth.SSO) Option {
	return func(o *options) { o.sso = sso }
}

// WithDev runs the server in dev mode (the demo sign-in, dev pages).
func WithDev() Option {
	return func(o *options) { o.dev = true }
}

// WithWebchat sets the webchat service's limits.
func WithWebchat(w webchat.Options) Option {
	return func(o *options) { o.webchat = w }
}

// WithHubBuffer sets how many events the hub queues per connection.
func WithHubBuffer(n int) Option {
	return func(o *options) { o.hub.ConnBuffer = n }
}

// WithPreEventTimeout shortens how long pre-event webhooks are waited for.
func WithPreEventTimeout(d time.Duration) Option {
	return func(o *options) { o.webhooks.PreEventTimeout = d }
}

// Start boots a server over d (already migrated) and stops it when t ends.
func Start(t testing.TB, d *db.DB, opts ...Option) *Server {
	t.Helper()
	ctx := context.Background()
	sealKey := make([]byte, 32)
	_, _ = rand.Read(sealKey)
	sealer, err := secrets.New(sealKey)
	if err != nil {
		t.Fatal(err)
	}
	accounts := auth.NewStore(d).WithSealer(sealer)
	acct, err := accounts.EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conversations.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	if err := taskrouter.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	engine := conversations.New(d, acct.Sid)
	tr := taskrouter.New(d, acct.Sid)
	ix := interactions.New(d, engine, tr)
	mediaDir := filepath.Join(t.TempDir(), "media")
	store, err := media.NewFS(mediaDir)
	if err != nil {
		t.Fatal(err)
	}
	signKey := make([]byte, 32)
	_, _ = rand.Read(signKey)
	mediaSvc := media.New(d, store, signKey, nil)
	engine.SetMediaLinker(mediaSvc)
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("WEBTEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	runner := jobs.NewRunner(d, log)
	o := options{webhooks: webhooks.Options{AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}
	for _, opt := range opts {
		opt(&o)
	}
	o.webhooks.Log = log
	hooks := webhooks.New(d, accounts, o.webhooks)
	hooks.Attach(engine)
	hooks.RegisterJobs(runner)
	tr.SendEventCallbacks(hooks)
	engine.RegisterJobs(runner)
	tr.RegisterJobs(runner)
	ix.RegisterJobs(runner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ch := channels.New(d, engine, mediaSvc, sealer, channels.Options{Log: log, PublicURL: base, StatusGrace: time.Second,
		Factories: map[string]channels.Factory{
			channels.KindTwilio:   func(c channels.Config) (channels.Provider, error) { return twiliomsg.New(c, nil) },
			channels.KindWhatsApp: func(c channels.Config) (channels.Provider, error) { return whatsapp.New(c, nil) },
		}})
	ch.RegisterJobs(runner)
	hubCtx, stopHub := context.WithCancel(context.Background())
	t.Cleanup(stopHub)
	hub := realtime.NewHub(events.NewBus(hubCtx, d, log), d, log, o.hub)
	go hub.Run(hubCtx)
	tokenKey := make([]byte, 32)
	_, _ = rand.Read(tokenKey)
	tokens := auth.NewTokens(accounts, tokenKey)
	chat := webchat.New(d, engine, mediaSvc, tokens, o.webchat)
	staff := auth.NewDirectory(d, desk.NewProvisioner(engine, tr, ""))
	agentDesk := desk.New(d, engine, tr, ix)
	agentDesk.SetMedia(mediaSvc)
	agentDesk.SetSignaller(hub)
	sessions := auth.NewSessions(d, auth.SessionOptions{})
	sup := supervise.New(d, engine, tr, ix, agentDesk)
	ins := insights.New(d, tr)
	app := web.New(web.Deps{Log: log, Accounts: accounts, Conversations: engine, TaskRouter: tr, Interactions: ix, Media: mediaSvc, Channels: ch, Ready: d.Ping,
		Hub: hub, Tokens: tokens, Done: hubCtx.Done(), Webchat: chat, ChatLimits: chat.Limits(),
		Staff: staff, Sessions: sessions, SSO: o.sso, PlainHTTPCookies: true, Dev: o.dev, Desk: agentDesk,
		Supervise: sup, Insights: ins, Keys: accounts, Jobs: runner})
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	s := &Server{URL: base, DB: d, Engine: engine, TaskRouter: tr, Jobs: runner, Media: mediaSvc, MediaDir: mediaDir, Channels: ch,
		Router: taskrouter.NewRouter(tr, log), Webhooks: hooks, Hub: hub, Accounts: accounts, Tokens: tokens, Webchat: chat, AccountSid: acct.Sid, AuthToken: acct.AuthToken,
		Staff: staff, Sessions: sessions, Desk: agentDesk, Supervise: sup, Insights: ins, Routes: app.GetRoutes(true)}
	s.Twilio = s.Client(acct.Sid, acct.AuthToken)
	return s
}

// SignIn provisions (the first time) a member of staff with a worker in the
// oldest workspace and opens a session for them, as a real sign-in would:
// it returns the session cookie, the session's CSRF token and the Staff.
// No roles means agent.
func (s *Server) SignIn(t testing.TB, email, name string, roles ...string) (*http.Cookie, string, auth.Staff) {
	t.Helper()
	if len(roles) == 0 {
		roles = []string{auth.RoleAgent}
	}
	ctx := context.Background()
	staff, err := s.Staff.Provision(ctx, email, name, roles...)
	if err != nil {
		t.Fatal(err)
	}
	token, sess, err := s.Sessions.Start(ctx, staff.Sid, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: web.SessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}, sess.CSRF, staff
}

// Client returns twilio-go with the given credentials, sending every request
// to this server whatever Twilio host the library meant.
func (s *Server) Client(username, password string) *twilio.RestClient {
	base, _ := url.Parse(s.URL)
	inner := &twclient.Client{Credentials: twclient.NewCredentials(username, password)}
	inner.SetAccountSid(s.AccountSid)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: &localBaseClient{Client: inner, base: base}})
}

// localBaseClient swaps scheme and host after twilio-go has built its URL:
// the library has no public base-URL setting.
type localBaseClient struct {
	*twclient.Client
	base *url.URL
}

func (c *localBaseClient) SendRequest(method, rawURL string, data url.Values, headers map[string]interface{}, body ...byte) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Host = c.base.Scheme, c.base.Host
	return c.Client.SendRequest(method, u.String(), data, headers, body...)
}
