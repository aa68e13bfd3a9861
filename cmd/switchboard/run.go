package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/insights"
	"github.com/switchboardhq/switchboard/interactions/supervise"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/simulator"
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
	"github.com/switchboardhq/switchboard/internal/webhooks/egress"
	"github.com/switchboardhq/switchboard/web"
)

const usage = `usage: switchboard <command> [flags]

commands:
  serve                         run the server (migrates on start)
  migrate                       apply database migrations and exit
  apikey create --friendly-name NAME
                                create an API key; prints {"account_sid","sid","secret"}

Run "switchboard <command> -h" for a command's flags.`

// config is everything the commands read from flags and the environment.
type config struct {
	Addr        string
	DataDir     string
	DatabaseURL string
	PublicURL   string
	Dev         bool
	// DemoTraffic plays customers and bot agents (dev mode only).
	DemoTraffic bool
	LogLevel    string
	// SecretKey is SWITCHBOARD_SECRET_KEY; never a flag, as command lines
	// are visible to every user of the machine.
	SecretKey string
	// WebhookAllowPrivate lists internal ranges webhooks may still reach.
	WebhookAllowPrivate []netip.Prefix
	// OIDC is staff single sign-on; no Issuer, no SSO. Its ClientSecret is
	// SWITCHBOARD_OIDC_CLIENT_SECRET, never a flag.
	OIDC            auth.SSOConfig
	OIDCRedirectURL string
	// Workspace is where staff get their workers; "" means the oldest.
	Workspace string
	// Session lifetimes: idle and absolute.
	SessionIdle, SessionMaxAge time.Duration
	// MetricsAddr serves Prometheus metrics; "" serves none.
	MetricsAddr string
}

// run is the whole program, parameterised so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		cfg, err := parseFlags("serve", args[1:], getenv, stderr, true)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stdout, stderr)
	case "migrate":
		cfg, err := parseFlags("migrate", args[1:], getenv, stderr, false)
		if err != nil {
			return err
		}
		d, err := openDB(ctx, cfg, newLogger(cfg, stderr))
		if err != nil {
			return err
		}
		defer d.Close()
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	case "apikey":
		return apikey(ctx, args[1:], getenv, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// parseFlags reads the database flags every command shares and, for serve,
// the server flags. Flags win over the environment.
func parseFlags(name string, args []string, getenv func(string) string, stderr io.Writer, server bool) (config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{}
	fs.StringVar(&cfg.DataDir, "data-dir", envOr(getenv, "SWITCHBOARD_DATA_DIR", "./data"), "directory for the SQLite database and local files (env SWITCHBOARD_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", getenv("DATABASE_URL"), "postgres://… URL; empty uses SQLite in --data-dir (env DATABASE_URL)")
	fs.StringVar(&cfg.LogLevel, "log-level", envOr(getenv, "SWITCHBOARD_LOG_LEVEL", "info"), "debug, info, warn or error (env SWITCHBOARD_LOG_LEVEL)")
	var allowPrivate string
	var sso ssoFlags
	if server {
		fs.StringVar(&cfg.Addr, "addr", envOr(getenv, "SWITCHBOARD_ADDR", "127.0.0.1:8080"), "listen address (env SWITCHBOARD_ADDR)")
		fs.StringVar(&cfg.PublicURL, "public-url", getenv("SWITCHBOARD_PUBLIC_URL"), "external base URL used in resource links; default: from each request (env SWITCHBOARD_PUBLIC_URL)")
		dev := getenv("SWITCHBOARD_DEV")
		fs.BoolVar(&cfg.Dev, "dev", dev == "1" || dev == "true", "demo mode: demo data and sign-in; loopback addresses only (env SWITCHBOARD_DEV=1)")
		traffic := getenv("SWITCHBOARD_DEMO_TRAFFIC")
		fs.BoolVar(&cfg.DemoTraffic, "demo-traffic", traffic == "1" || traffic == "true", "with --dev: simulated customers write in and two bot agents answer, so the supervisor views have live work (env SWITCHBOARD_DEMO_TRAFFIC=1)")
		cfg.SecretKey = getenv("SWITCHBOARD_SECRET_KEY")
		fs.StringVar(&cfg.MetricsAddr, "metrics-addr", getenv("SWITCHBOARD_METRICS_ADDR"), "serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9090; empty serves none (env SWITCHBOARD_METRICS_ADDR)")
		fs.StringVar(&allowPrivate, "webhook-allow-private", getenv("SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE"), "internal address ranges (CIDRs) outgoing webhooks may still reach, e.g. 127.0.0.0/8 (env SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE)")
		staffFlags(fs, &cfg, getenv, &sso)
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	var err error
	if cfg.WebhookAllowPrivate, err = egress.ParsePrefixes(allowPrivate); err != nil {
		return cfg, fmt.Errorf("--webhook-allow-private: %w", err)
	}
	if server {
		if err := sso.apply(&cfg); err != nil {
			return cfg, err
		}
	}
	if cfg.DemoTraffic && !cfg.Dev {
		return cfg, fmt.Errorf("--demo-traffic plays customers against the demo data, so it needs --dev")
	}
	if cfg.Dev && !isLoopback(cfg.Addr) {
		return cfg, fmt.Errorf("--dev serves demo sign-in and data, so it only listens on a loopback address (127.0.0.1, [::1], localhost), not %q", cfg.Addr)
	}
	return cfg, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// openDB opens and migrates the database, and makes sure the account and the
// default conversation service exist.
func openDB(ctx context.Context, cfg config, log *slog.Logger) (*db.DB, error) {
	d, err := db.Open(ctx, db.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	acct, err := auth.NewStore(d).EnsureAccount(ctx)
	if err != nil {
		d.Close()
		return nil, err
	}
	if err := conversations.Bootstrap(ctx, d, acct.Sid); err != nil {
		d.Close()
		return nil, err
	}
	if err := taskrouter.Bootstrap(ctx, d, acct.Sid); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func apikey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New(`usage: switchboard apikey create --friendly-name NAME`)
	}
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("friendly-name", "", "a name for the key (at most 64 characters)")
	dataDir := fs.String("data-dir", envOr(getenv, "SWITCHBOARD_DATA_DIR", "./data"), "as for serve (env SWITCHBOARD_DATA_DIR)")
	dbURL := fs.String("database-url", getenv("DATABASE_URL"), "as for serve (env DATABASE_URL)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("apikey create: --friendly-name is required")
	}
	cfg := config{DataDir: *dataDir, DatabaseURL: *dbURL, LogLevel: "warn", SecretKey: getenv("SWITCHBOARD_SECRET_KEY")}
	// The key's secret is sealed under the server secret, so that the key
	// can sign access tokens: it must be the one serve uses.
	master, err := serverSecret(cfg.SecretKey, cfg.DataDir)
	if err != nil {
		return err
	}
	sealer, err := secrets.New(deriveKey(master, "sealed secrets"))
	if err != nil {
		return err
	}
	d, err := openDB(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer d.Close()
	key, secret, err := auth.NewStore(d).WithSealer(sealer).CreateAPIKey(ctx, *name)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]string{"account_sid": key.AccountSid, "sid": key.Sid, "secret": secret})
}

func serve(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	d, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	secret, err := serverSecret(cfg.SecretKey, cfg.DataDir)
	if err != nil {
		return err
	}
	sealer, err := secrets.New(deriveKey(secret, "sealed secrets"))
	if err != nil {
		return err
	}
	accounts := auth.NewStore(d).WithSealer(sealer)
	acct, err := accounts.EnsureAccount(ctx)
	if err != nil {
		return err
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	engine := conversations.New(d, acct.Sid)
	tr := taskrouter.New(d, acct.Sid)
	runner := jobs.NewRunner(d, log)
	ix := interactions.New(d, engine, tr)
	mediaStore, err := media.NewFS(filepath.Join(cfg.DataDir, "media"))
	if err != nil {
		return err
	}
	mediaSvc := media.New(d, mediaStore, deriveKey(secret, "media urls"), nil)
	engine.SetMediaLinker(mediaSvc)
	engine.RegisterJobs(runner)
	tr.RegisterJobs(runner)
	ix.RegisterJobs(runner)
	hooks := webhooks.New(d, accounts, webhooks.Options{AllowPrivate: cfg.WebhookAllowPrivate, Log: log})
	hooks.Attach(engine)
	hooks.RegisterJobs(runner)
	hooks.Watch(runCtx)
	tr.SendEventCallbacks(hooks)
	if err := tr.RegisterEventPurge(ctx, runner); err != nil {
		return err
	}
	router := taskrouter.NewRouter(tr, log)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close() // on an early return; serving closes it too
	url := "http://" + ln.Addr().String()
	carrierHTTP := channels.HTTPClient()
	chOpts := channels.Options{Log: log, PublicURL: cmp.Or(cfg.PublicURL, url), Factories: map[string]channels.Factory{
		channels.KindTwilio:   func(c channels.Config) (channels.Provider, error) { return twiliomsg.New(c, carrierHTTP) },
		channels.KindWhatsApp: func(c channels.Config) (channels.Provider, error) { return whatsapp.New(c, carrierHTTP) },
	}}
	newChannels := func(o channels.Options) *channels.Service { return channels.New(d, engine, mediaSvc, sealer, o) }
	var ch *channels.Service
	var sim *simulator.Network
	if cfg.Dev {
		if ch, sim, err = startDevPhone(ctx, chOpts, newChannels, engine); err != nil {
			return err
		}
		defer sim.Close() // deferred after d.Close, so it runs first: its status reports use the database
	} else {
		ch = newChannels(chOpts)
	}
	ch.RegisterJobs(runner)

	// The hub gets its own bus: a bus counts drops for all its subscribers.
	hub := realtime.NewHub(events.NewBus(runCtx, d, log), d, log, realtime.Options{})
	tokens := auth.NewTokens(accounts, deriveKey(secret, "access tokens"))
	chat := webchat.New(d, engine, mediaSvc, tokens, webchat.Options{})
	staff, sessions, sso, err := startStaffSignIn(ctx, cfg, log, secret, d, engine, tr)
	if err != nil {
		return err
	}
	agentDesk := desk.New(d, engine, tr, ix)
	agentDesk.SetMedia(mediaSvc)
	agentDesk.SetSignaller(hub)
	// Insights observes TaskRouter's events from here on: before any seed
	// or demo traffic makes some.
	facts := insights.New(d, tr)
	supervisor := supervise.New(d, engine, tr, ix, agentDesk)
	var demoKey string
	if cfg.Dev {
		if demoKey, err = seedDevWebchat(ctx, chat, engine); err != nil {
			return err
		}
		if err := seedDevDesk(ctx, tr, agentDesk, staff, ch); err != nil {
			return err
		}
		if cfg.DemoTraffic {
			if err := startDemoTraffic(runCtx, tr, agentDesk, staff, ch, sim, log); err != nil {
				return fmt.Errorf("demo traffic: %w", err)
			}
		}
		if err := seedDevHistory(ctx, d, tr); err != nil {
			return err
		}
	}
	app := web.New(web.Deps{
		Log: log, Accounts: accounts, Conversations: engine, TaskRouter: tr, Interactions: ix, Media: mediaSvc, Channels: ch, Simulator: sim,
		Hub: hub, Tokens: tokens, Done: runCtx.Done(), Webchat: chat, ChatLimits: chat.Limits(), WebchatDemoKey: demoKey,
		Ready: d.Ping, PublicURL: cfg.PublicURL, Dev: cfg.Dev,
		Staff: staff, Sessions: sessions, SSO: sso, SSORedirectURL: cfg.OIDCRedirectURL, PlainHTTPCookies: plainLoopback(cfg.PublicURL, ln.Addr().String()),
		Desk: agentDesk, Supervise: supervisor, Insights: facts,
		Keys: accounts, Jobs: runner,
	})
	go runner.Run(runCtx)
	go router.Run(runCtx)
	go hub.Run(runCtx)
	if cfg.MetricsAddr != "" {
		addr, err := startMetrics(runCtx, cfg.MetricsAddr, hub, log)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		fmt.Fprintf(stdout, "Metrics: http://%s/metrics\n", addr)
	}

	fmt.Fprintf(stdout, "Switchboard is listening on %s\n", url)
	if cfg.Dev {
		fmt.Fprintf(stdout, "Demo mode. REST API: %s/v1/ with HTTP Basic %s:%s\n", url, acct.Sid, acct.AuthToken)
		fmt.Fprintf(stdout, "Play a customer: %s/dev/phone texts +15550100 (SMS) or whatsapp:+15550100 through the simulated carrier\n", url)
		fmt.Fprintf(stdout, "Or chat as a website visitor: %s/webchat/demo\n", url)
		fmt.Fprintf(stdout, "Staff sign in (demo users, dev mode only): %s/auth/dev\n", url)
		if cfg.DemoTraffic {
			fmt.Fprintf(stdout, "Demo traffic is on: simulated customers write in every 15-40 s and two bot agents answer; supervisors: %s/supervisor/queues\n", url)
		}
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	cancel()
	if err := app.ShutdownWithTimeout(10 * time.Second); err != nil {
		return err
	}
	return <-served
}
