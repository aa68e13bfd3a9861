package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/internal/channels/twiliomsg/twiliofake"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// TestDeliveryIsExactlyOnceAcrossAKill kills a server process (SIGKILL, no
// clean shutdown) while it is in the middle of sending an SMS through a fake
// Twilio, lets the job's lease run out, and starts another process on the
// same database: the customer gets the message exactly once, whether or not
// the carrier had taken it before the process died.
func TestDeliveryIsExactlyOnceAcrossAKill(t *testing.T) {
	cases := []struct {
		name string
		// arm prepares the fake before the send it will hold.
		arm func(*twiliofake.Server)
		// carrierTookIt is whether the held send is recorded once released.
		carrierTookIt bool
	}{
		{name: "the carrier took it, then the process died before recording", arm: func(*twiliofake.Server) {}, carrierTookIt: true},
		{name: "the process died before the carrier saw it",
			arm: func(f *twiliofake.Server) { f.FailSends(1, twiliofake.Fault{Drop: true}) }},
	}
	// Every node must unseal the provider's credentials the other stored.
	t.Setenv("SWITCHBOARD_SECRET_KEY", randomKey())
	binDir := t.TempDir()
	var bin string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbURL := dbtest.PostgresURL(t)
			if bin == "" { // built once, and only when Postgres is there to run it
				path := filepath.Join(binDir, "switchboard")
				if out, err := exec.Command("go", "build", "-o", path, ".").CombinedOutput(); err != nil {
					t.Fatalf("build: %v\n%s", err, out)
				}
				bin = path
			}
			ctx := t.Context()
			fake := twiliofake.New()
			t.Cleanup(fake.Close)
			const (
				ours     = "+15550142000"
				customer = "+15557654321"
				body     = "your order has shipped"
			)

			// apikey create migrates the fresh schema and makes the account.
			out, err := exec.Command(bin, "apikey", "create", "--friendly-name", "crash test", "--database-url", dbURL).Output()
			if err != nil {
				t.Fatalf("apikey create: %v", err)
			}
			var key struct{ AccountSid, Sid, Secret string }
			if err := json.Unmarshal(out, &key); err != nil {
				t.Fatalf("apikey create printed %q: %v", out, err)
			}

			a := startNode(t, bin, dbURL)
			api := restAPI{t: t, url: listenURL(t, a), accountSid: key.AccountSid, user: key.Sid, pass: key.Secret}
			provider := api.post("/v1/Channels/Providers", url.Values{"Kind": {"twilio"}, "AccountId": {fake.AccountSid},
				"Secret": {fake.AuthToken}, "BaseUrl": {fake.URL}})
			api.post("/v1/Channels/Senders", url.Values{"Address": {ours}, "ProviderSid": {provider["sid"].(string)}})
			tw := api.twilio()
			cv, err := tw.CreateConversation(&conv.CreateConversationParams{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tw.CreateConversationParticipant(*cv.Sid, (&conv.CreateConversationParticipantParams{}).
				SetMessagingBindingAddress(customer).SetMessagingBindingProxyAddress(ours)); err != nil {
				t.Fatal(err)
			}

			c.arm(fake)
			fake.HoldSends()
			msg, err := tw.CreateConversationMessage(*cv.Sid, (&conv.CreateConversationMessageParams{}).SetAuthor("agent").SetBody(body))
			if err != nil {
				t.Fatal(err)
			}
			waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			if err := fake.WaitHeld(waitCtx, 1); err != nil {
				t.Fatal(err)
			}
			if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = a.cmd.Wait() // gone for sure before the carrier answers
			fake.ReleaseSends()
			if c.carrierTookIt {
				if _, err := fake.WaitMessages(waitCtx, 1); err != nil {
					t.Fatal(err)
				}
			}
			// A dropped send is settled microseconds after its release; the
			// next node needs far longer to start. Were it somehow first, its
			// own send would be dropped and reconciled, once all the same.

			conn, err := pgx.Connect(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = conn.Close(ctx) })
			if st := deliveryState(t, conn); st != "sending" {
				t.Fatalf("the killed node left the delivery %q, want it in doubt (sending)", st)
			}
			// The lease of the dead node's claim runs out.
			tag, err := conn.Exec(ctx, `UPDATE jobs SET run_at = now() WHERE kind = 'channels.deliver' AND status = 'running'`)
			if err != nil {
				t.Fatal(err)
			}
			if tag.RowsAffected() != 1 {
				t.Fatalf("%d running delivery jobs, want the dead node's one", tag.RowsAffected())
			}

			b := startNode(t, bin, dbURL)
			api.url = listenURL(t, b)
			waitFor(t, "the second node to settle the delivery", 20*time.Second, func() bool { return deliveryState(t, conn) == "sent" })
			got := fake.Messages()
			if len(got) != 1 || got[0].To != customer || got[0].From != ours || got[0].Body != body {
				t.Fatalf("the carrier has %d messages %s, want one to %s", len(got), carrierString(got), customer)
			}
			// The receipt follows the delivery's state in its own transaction.
			var rs []conv.ConversationsV1ConversationMessageReceipt
			waitFor(t, "the sent receipt", 20*time.Second, func() bool {
				rs, err = api.twilio().ListConversationMessageReceipt(*cv.Sid, *msg.Sid, &conv.ListConversationMessageReceiptParams{})
				if err != nil {
					t.Fatal(err)
				}
				return len(rs) > 0
			})
			if len(rs) != 1 || rs[0].Status == nil || *rs[0].Status != "sent" ||
				rs[0].ChannelMessageSid == nil || *rs[0].ChannelMessageSid != got[0].Sid {
				t.Fatalf("receipts %s, want one, sent, naming %s", receiptsString(rs), got[0].Sid)
			}
		})
	}
}

func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// listenURL waits for a node to say where it listens.
func listenURL(t *testing.T, n *node) string {
	t.Helper()
	var u string
	waitFor(t, "the node to listen", 20*time.Second, func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		if m := listening.FindStringSubmatch(n.logs.String()); m != nil {
			u = m[1]
		}
		return u != ""
	})
	return u
}

// restAPI calls one node's REST API with an API key.
type restAPI struct {
	t                           *testing.T
	url, accountSid, user, pass string
}

// twilio is twilio-go's Conversations API on the node.
func (a restAPI) twilio() *conv.ApiService {
	return (&webtest.Server{URL: a.url, AccountSid: a.accountSid}).Client(a.user, a.pass).ConversationsV1
}

// post creates one of Switchboard's own resources, which twilio-go does not know.
func (a restAPI) post(path string, form url.Values) map[string]any {
	a.t.Helper()
	req, err := http.NewRequestWithContext(a.t.Context(), http.MethodPost, a.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(a.user, a.pass)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	if res.StatusCode != http.StatusCreated {
		a.t.Fatalf("POST %s: %d %s", path, res.StatusCode, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		a.t.Fatal(err)
	}
	return out
}

// deliveryState reads the one delivery's state straight from the database.
func deliveryState(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var states []string
	rows, err := conn.Query(t.Context(), `SELECT state FROM channel_deliveries`)
	if err != nil {
		t.Fatal(err)
	}
	if states, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 {
		t.Fatalf("%d deliveries %v, want 1", len(states), states)
	}
	return states[0]
}

func carrierString(ms []twiliofake.Message) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "[%s %s→%s %q] ", m.Sid, m.From, m.To, m.Body)
	}
	return b.String()
}

func receiptsString(rs []conv.ConversationsV1ConversationMessageReceipt) string {
	b, _ := json.Marshal(rs)
	return string(b)
}
