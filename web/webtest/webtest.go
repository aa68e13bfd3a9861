// Package webtest runs a real Switchboard server on 127.0.0.1:0 over a real
// database and hands tests the official twilio-go client pointed at it.
package webtest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/jobs"
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
	// Router routes tasks; tests drive it with RouteWorkspace.
	Router     *taskrouter.Router
	AccountSid string
	AuthToken  string
	// Twilio is twilio-go authenticated with the account's auth token.
	Twilio *twilio.RestClient
}

// Start boots a server over d (already migrated) and stops it when t ends.
func Start(t testing.TB, d *db.DB) *Server {
	t.Helper()
	ctx := context.Background()
	accounts := auth.NewStore(d)
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
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("WEBTEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	runner := jobs.NewRunner(d, log)
	engine.RegisterJobs(runner)
	tr.RegisterJobs(runner)
	ix.RegisterJobs(runner)
	app := web.New(web.Deps{Log: log, Accounts: accounts, Conversations: engine, TaskRouter: tr, Interactions: ix, Ready: d.Ping})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	s := &Server{URL: "http://" + ln.Addr().String(), DB: d, Engine: engine, TaskRouter: tr, Jobs: runner, Router: taskrouter.NewRouter(tr, log), AccountSid: acct.Sid, AuthToken: acct.AuthToken}
	s.Twilio = s.Client(acct.Sid, acct.AuthToken)
	return s
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
