package web_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/webchat"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// siteOrigin is the customer's site that embeds the widget.
const siteOrigin = "https://shop.example.com"

// deploymentBody is a deployment as the admin API answers it.
type deploymentBody struct {
	AccountSid              string   `json:"account_sid"`
	Sid                     string   `json:"sid"`
	Key                     string   `json:"key"`
	FriendlyName            string   `json:"friendly_name"`
	AllowedOrigins          []string `json:"allowed_origins"`
	AddressConfigurationSid string   `json:"address_configuration_sid"`
	PreEngagement           string   `json:"pre_engagement"`
	WelcomeMessage          string   `json:"welcome_message"`
	BrandColor              string   `json:"brand_color"`
	Title                   string   `json:"title"`
	DateCreated             string   `json:"date_created"`
	DateUpdated             string   `json:"date_updated"`
	URL                     string   `json:"url"`
	Links                   struct {
		Config string `json:"config"`
	} `json:"links"`
}

// sessionBody is what starting a session or renewing its token answers.
type sessionBody struct {
	Token           string `json:"token"`
	ExpiresAt       string `json:"expires_at"`
	Identity        string `json:"identity"`
	ConversationSid string `json:"conversation_sid"`
	ServiceSid      string `json:"service_sid"`
}

// webchatFixture is a server with a chat address configuration that
// auto-creates conversations with a webhook in a service of their own, and
// a deployment of it embedded on siteOrigin.
type webchatFixture struct {
	s       *webtest.Server
	service string
	address string
	d       deploymentBody
}

func newWebchat(t *testing.T, s *webtest.Server) webchatFixture {
	t.Helper()
	f := webchatFixture{s: s, service: newService(t, s, "webchat")}
	a, err := s.Engine.CreateAddressConfiguration(t.Context(), conversations.AddressConfigurationParams{Type: new("chat"),
		Address: new("webchat-shop"), AutoCreationEnabled: new(true), AutoCreationType: new("webhook"),
		AutoCreationServiceSid: new(f.service), AutoCreationWebhookURL: new("https://hooks.example.com/chat"),
		AutoCreationWebhookFilters: []string{"onMessageAdded"}})
	if err != nil {
		t.Fatal(err)
	}
	f.address = a.Sid
	res, raw := adminForm(t, s, "POST", "/v1/Webchat/Deployments", url.Values{"FriendlyName": {"Shop"},
		"AddressConfigurationSid": {a.Sid}, "AllowedOrigins": {siteOrigin}, "WelcomeMessage": {"Welcome to the shop!"}})
	if res.StatusCode != http.StatusCreated || json.Unmarshal(raw, &f.d) != nil {
		t.Fatalf("create deployment answered %d %s", res.StatusCode, raw)
	}
	return f
}

// adminForm sends a form to the admin API with the account's credentials.
func adminForm(t *testing.T, s *webtest.Server, method, path string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	return mcsCall{method: method, path: path, body: []byte(form.Encode()),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}.do(t, s)
}

// start asks for a session as the widget does, from origin ("" sends none).
func (f webchatFixture) start(t *testing.T, origin string, form map[string]string) (*http.Response, []byte) {
	t.Helper()
	body := map[string]string{"deployment_key": f.d.Key}
	for k, v := range form {
		body[k] = v
	}
	raw, _ := json.Marshal(body)
	h := map[string]string{"Content-Type": "application/json"}
	if origin != "" {
		h["Origin"] = origin
	}
	return mcsCall{method: "POST", path: "/webchat/v1/sessions", body: raw, header: h, anonymous: true}.do(t, f.s)
}

// ada is a filled-in default form.
var ada = map[string]string{"friendly_name": "Ada Lovelace", "email": "ada@example.com", "query": "Where is my order?"}

// session starts a session for ada from siteOrigin.
func (f webchatFixture) session(t *testing.T) sessionBody {
	t.Helper()
	res, raw := f.start(t, siteOrigin, ada)
	var s sessionBody
	if res.StatusCode != http.StatusCreated || json.Unmarshal(raw, &s) != nil {
		t.Fatalf("start session answered %d %s", res.StatusCode, raw)
	}
	return s
}

// bearer calls a widget endpoint with a session token.
func bearer(t *testing.T, s *webtest.Server, method, path, token string, body []byte, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	h := map[string]string{"Authorization": "Bearer " + token}
	for k, v := range header {
		h[k] = v
	}
	return mcsCall{method: method, path: path, body: body, header: h, anonymous: true}.do(t, s)
}

// conversationCount is how many conversations the service holds.
func (f webchatFixture) conversationCount(t *testing.T) int {
	t.Helper()
	all, _, err := f.s.Engine.Conversations(t.Context(), f.service, conversations.ConversationFilter{}, conversations.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(all)
}

func TestWebchatDeploymentsAreManagedThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		f := newWebchat(t, s)
		d := f.d
		if !strings.HasPrefix(d.Sid, "WD") || len(d.Key) < 26 || d.AccountSid != s.AccountSid || d.FriendlyName != "Shop" ||
			len(d.AllowedOrigins) != 1 || d.AllowedOrigins[0] != siteOrigin || d.AddressConfigurationSid != f.address ||
			d.Title != webchat.DefaultTitle || d.BrandColor != webchat.DefaultBrandColor || d.WelcomeMessage != "Welcome to the shop!" ||
			d.URL != s.URL+"/v1/Webchat/Deployments/"+d.Sid || d.Links.Config != s.URL+"/webchat/v1/deployments/"+d.Key {
			t.Fatalf("created %+v", d)
		}
		var form webchat.PreEngagement
		if json.Unmarshal([]byte(d.PreEngagement), &form) != nil || len(form.Fields) != 3 || form.Disabled {
			t.Fatalf("pre_engagement %s, want the default form as a JSON string", d.PreEngagement)
		}

		res, raw := adminForm(t, s, "POST", "/v1/Webchat/Deployments/"+d.Sid, url.Values{"Title": {"Help"}, "BrandColor": {"#AA00ff"},
			"AllowedOrigins": {"https://a.example.com/", "http://localhost:3000"},
			"PreEngagement":  {`{"fields":[{"name":"query","label":"Your question","required":true}]}`}})
		var updated deploymentBody
		if res.StatusCode != 200 || json.Unmarshal(raw, &updated) != nil || updated.Title != "Help" || updated.BrandColor != "#aa00ff" ||
			strings.Join(updated.AllowedOrigins, " ") != "https://a.example.com http://localhost:3000" || updated.Key != d.Key ||
			!strings.Contains(updated.PreEngagement, "Your question") || updated.FriendlyName != "Shop" {
			t.Fatalf("update answered %d %s", res.StatusCode, raw)
		}

		res, raw = adminForm(t, s, "POST", "/v1/Webchat/Deployments/"+d.Sid, url.Values{"RotateKey": {"true"}})
		var rotated deploymentBody
		if res.StatusCode != 200 || json.Unmarshal(raw, &rotated) != nil || rotated.Key == d.Key || rotated.Title != "Help" {
			t.Fatalf("rotate answered %d %s", res.StatusCode, raw)
		}
		res, raw = mcsCall{method: "GET", path: "/webchat/v1/deployments/" + d.Key, anonymous: true}.do(t, s)
		wantErrorBody(t, res, raw, 20404, 404)
		if res, raw = (mcsCall{method: "GET", path: "/webchat/v1/deployments/" + rotated.Key, anonymous: true}.do(t, s)); res.StatusCode != 200 {
			t.Fatalf("the new key's config answered %d %s", res.StatusCode, raw)
		}

		second, _ := adminForm(t, s, "POST", "/v1/Webchat/Deployments", url.Values{"AddressConfigurationSid": {f.address}})
		if second.StatusCode != http.StatusCreated {
			t.Fatalf("a second deployment answered %d", second.StatusCode)
		}
		res, raw = mcsCall{method: "GET", path: "/v1/Webchat/Deployments?PageSize=1"}.do(t, s)
		var page struct {
			Deployments []deploymentBody `json:"deployments"`
			Meta        struct {
				Key         string  `json:"key"`
				PageSize    int     `json:"page_size"`
				NextPageURL *string `json:"next_page_url"`
			} `json:"meta"`
		}
		if res.StatusCode != 200 || json.Unmarshal(raw, &page) != nil || len(page.Deployments) != 1 || page.Deployments[0].Sid != d.Sid ||
			page.Meta.Key != "deployments" || page.Meta.PageSize != 1 || page.Meta.NextPageURL == nil {
			t.Fatalf("list answered %d %s", res.StatusCode, raw)
		}

		if res, _ = (mcsCall{method: "DELETE", path: "/v1/Webchat/Deployments/" + d.Sid}.do(t, s)); res.StatusCode != http.StatusNoContent {
			t.Fatalf("delete answered %d", res.StatusCode)
		}
		res, raw = mcsCall{method: "GET", path: "/v1/Webchat/Deployments/" + d.Sid}.do(t, s)
		wantErrorBody(t, res, raw, 20404, 404)
		res, raw = mcsCall{method: "GET", path: "/v1/Webchat/Deployments", anonymous: true}.do(t, s)
		wantErrorBody(t, res, raw, 20003, 401)
	})
}

func TestWebchatDeploymentsRefuseBadSettingsClearly(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		f := newWebchat(t, s)
		sms, err := s.Engine.CreateAddressConfiguration(t.Context(), conversations.AddressConfigurationParams{Type: new("sms"),
			Address: new("+15550001111"), AutoCreationEnabled: new(true)})
		if err != nil {
			t.Fatal(err)
		}
		var eleven []string
		for i := range 11 {
			eleven = append(eleven, "https://site"+string(rune('a'+i))+".example.com")
		}
		for _, tc := range []struct {
			name string
			form url.Values
			says string
		}{
			{"eleven origins", url.Values{"AllowedOrigins": eleven}, "at most 10"},
			{"an origin with a path", url.Values{"AllowedOrigins": {"https://shop.example.com/chat"}}, "path"},
			{"a named colour", url.Values{"BrandColor": {"red"}}, "#rrggbb"},
			{"a short colour", url.Values{"BrandColor": {"#fff"}}, "#rrggbb"},
			{"an unknown address configuration", url.Values{"AddressConfigurationSid": {"IG00000000000000000000000000000000"}}, "not an address configuration"},
			{"an SMS address configuration", url.Values{"AddressConfigurationSid": {sms.Sid}}, "chat"},
			{"no address configuration", url.Values{"AddressConfigurationSid": {""}}, "required"},
			{"a form of unknown fields", url.Values{"PreEngagement": {`{"fields":[{"name":"phone"}]}`}}, "unknown"},
			{"a form that is no JSON", url.Values{"PreEngagement": {`name,email`}}, "JSON object"},
			{"a key rotation on create", url.Values{"RotateKey": {"true"}}, "RotateKey"},
		} {
			form := url.Values{"AddressConfigurationSid": {f.address}}
			for k, v := range tc.form {
				form[k] = v
			}
			res, raw := adminForm(t, s, "POST", "/v1/Webchat/Deployments", form)
			wantErrorBody(t, res, raw, 20001, 400)
			if !strings.Contains(string(raw), tc.says) {
				t.Errorf("%s: %s, want a message mentioning %q", tc.name, raw, tc.says)
			}
		}
		res, raw := adminForm(t, s, "POST", "/v1/Webchat/Deployments/"+f.d.Sid, url.Values{"BrandColor": {"blue"}, "Title": {"Changed"}})
		wantErrorBody(t, res, raw, 20001, 400)
		res, raw = mcsCall{method: "GET", path: "/v1/Webchat/Deployments"}.do(t, s)
		var list struct{ Deployments []deploymentBody }
		if json.Unmarshal(raw, &list) != nil || len(list.Deployments) != 1 || list.Deployments[0].Title != webchat.DefaultTitle {
			t.Fatalf("after refusals the list is %s, want the one unchanged deployment", raw)
		}
	})
}

func TestTheWidgetLoadsItsConfigurationFromAllowedOrigins(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		f := newWebchat(t, s)
		res, raw := mcsCall{method: "GET", path: "/webchat/v1/deployments/" + f.d.Key, anonymous: true,
			header: map[string]string{"Origin": siteOrigin}}.do(t, s)
		var cfg struct {
			Title          string `json:"title"`
			BrandColor     string `json:"brand_color"`
			WelcomeMessage string `json:"welcome_message"`
			PreEngagement  struct {
				Disabled bool `json:"disabled"`
				Fields   []struct {
					Name, Label, Type string
					Required          bool
				} `json:"fields"`
			} `json:"pre_engagement"`
		}
		if res.StatusCode != 200 || json.Unmarshal(raw, &cfg) != nil || cfg.Title != webchat.DefaultTitle ||
			cfg.WelcomeMessage != "Welcome to the shop!" || len(cfg.PreEngagement.Fields) != 3 ||
			cfg.PreEngagement.Fields[1].Name != "email" || cfg.PreEngagement.Fields[1].Type != "email" || !cfg.PreEngagement.Fields[1].Required {
			t.Fatalf("config answered %d %s", res.StatusCode, raw)
		}
		if strings.Contains(string(raw), f.address) || strings.Contains(string(raw), "WD") {
			t.Fatalf("the public config leaks identifiers: %s", raw)
		}
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != siteOrigin {
			t.Fatalf("Access-Control-Allow-Origin %q for an allowed origin", got)
		}
		res, _ = mcsCall{method: "GET", path: "/webchat/v1/deployments/" + f.d.Key, anonymous: true,
			header: map[string]string{"Origin": "https://evil.example.net"}}.do(t, s)
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Fatalf("a foreign origin may read the config (Access-Control-Allow-Origin %q)", got)
		}
		res, _ = mcsCall{method: "OPTIONS", path: "/webchat/v1/sessions", anonymous: true,
			header: map[string]string{"Origin": siteOrigin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}}.do(t, s)
		if res.StatusCode != http.StatusNoContent || !strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
			t.Fatalf("preflight answered %d %v", res.StatusCode, res.Header)
		}
	})
}

func TestASessionOpensAConversationWithTheGuestTheirQuestionAndTheWelcome(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		f := newWebchat(t, s)
		before := time.Now()
		res, raw := f.start(t, siteOrigin, ada)
		var sess sessionBody
		if res.StatusCode != http.StatusCreated || json.Unmarshal(raw, &sess) != nil {
			t.Fatalf("start session answered %d %s", res.StatusCode, raw)
		}
		if res.Header.Get("Access-Control-Allow-Origin") != siteOrigin {
			t.Fatalf("the allowed origin cannot read the session (headers %v)", res.Header)
		}
		if !strings.HasPrefix(sess.Identity, webchat.IdentityPrefix) || len(sess.Identity) != len(webchat.IdentityPrefix)+32 ||
			sess.ServiceSid != f.service || !strings.HasPrefix(sess.ConversationSid, "CH") {
			t.Fatalf("session %+v", sess)
		}
		expires, err := time.Parse(time.RFC3339, sess.ExpiresAt)
		if err != nil || expires.Before(before.Add(webchat.TokenTTL-time.Minute)) || expires.After(before.Add(webchat.TokenTTL+time.Minute)) {
			t.Fatalf("expires_at %q, want six hours from now", sess.ExpiresAt)
		}
		at, err := s.Tokens.Verify(t.Context(), sess.Token)
		if err != nil || at.Identity != sess.Identity || at.ChatServiceSid != f.service {
			t.Fatalf("the token verifies as %+v, %v", at, err)
		}

		ctx := t.Context()
		c, err := s.Engine.Conversation(ctx, f.service, sess.ConversationSid)
		if err != nil {
			t.Fatal(err)
		}
		var attrs struct {
			Pre map[string]string `json:"pre_engagement_data"`
		}
		if c.FriendlyName != "Webchat: Ada Lovelace" || json.Unmarshal([]byte(c.Attributes), &attrs) != nil ||
			attrs.Pre["email"] != "ada@example.com" || attrs.Pre["query"] != "Where is my order?" {
			t.Fatalf("conversation %q with attributes %s", c.FriendlyName, c.Attributes)
		}
		members, _, err := s.Engine.Participants(ctx, f.service, c.Sid, conversations.Page{Limit: 10})
		if err != nil || len(members) != 1 || members[0].Identity == nil || *members[0].Identity != sess.Identity ||
			!strings.Contains(members[0].Attributes, `"friendlyName":"Ada Lovelace"`) || !strings.Contains(members[0].Attributes, "ada@example.com") {
			t.Fatalf("participants %+v, %v; want the guest alone", members, err)
		}
		msgs, _, err := s.Engine.Messages(ctx, f.service, c.Sid, false, conversations.Page{Limit: 10})
		if err != nil || len(msgs) != 2 {
			t.Fatalf("messages %+v, %v; want the question and the welcome", msgs, err)
		}
		if msgs[0].Author != sess.Identity || *msgs[0].Body != "Where is my order?" || msgs[0].ParticipantSid == nil || *msgs[0].ParticipantSid != members[0].Sid {
			t.Fatalf("first message %+v, want the question by the guest", msgs[0])
		}
		if msgs[1].Author != webchat.WelcomeAuthor || *msgs[1].Body != "Welcome to the shop!" || msgs[1].ParticipantSid != nil {
			t.Fatalf("second message %+v, want the welcome by nobody in the conversation", msgs[1])
		}
		hooks, _, err := s.Engine.ConversationWebhooks(ctx, f.service, c.Sid, conversations.Page{Limit: 5})
		if err != nil || len(hooks) != 1 || hooks[0].URL != "https://hooks.example.com/chat" {
			t.Fatalf("conversation webhooks %+v, %v; want the address configuration's", hooks, err)
		}

		// The widget's own page, served by Switchboard, may start sessions too.
		if res, raw := f.start(t, s.URL, ada); res.StatusCode != http.StatusCreated {
			t.Fatalf("a session from Switchboard's own origin answered %d %s", res.StatusCode, raw)
		}
	})
}

func TestAFormlessDeploymentStartsAnonymousChatsWithoutAQuestion(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		f := newWebchat(t, s)
		res, raw := adminForm(t, s, "POST", "/v1/Webchat/Deployments/"+f.d.Sid, url.Values{"PreEngagement": {`{"disabled":true}`},
			"WelcomeMessage": {""}})
		if res.StatusCode != 200 {
			t.Fatalf("update answered %d %s", res.StatusCode, raw)
		}
		sess := f.session(t)
		c, err := s.Engine.Conversation(t.Context(), f.service, sess.ConversationSid)
		if err != nil || c.FriendlyName != "Webchat: Anonymous" {
			t.Fatalf("conversation %+v, %v", c, err)
		}
		msgs, _, err := s.Engine.Messages(t.Context(), f.service, c.Sid, false, conversations.Page{Limit: 10})
		if err != nil || len(msgs) != 0 {
			t.Fatalf("messages %+v, %v; want none without a question or a welcome", msgs, err)
		}
	})
}

func TestSessionsStartOnlyFromAllowedOrigins(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		f := newWebchat(t, s)
		for origin, says := range map[string]string{"": "no Origin", "https://evil.example.net": "may not use", "null": "may not use",
			"https://shop.example.com:8443": "may not use"} {
			res, raw := f.start(t, origin, ada)
			wantErrorBody(t, res, raw, 20403, 403)
			if !strings.Contains(string(raw), says) {
				t.Errorf("origin %q: %s, want a message saying %q", origin, raw, says)
			}
		}
		if n := f.conversationCount(t); n != 0 {
			t.Fatalf("refused sessions left %d conversations", n)
		}
	})
}

func TestASessionWithoutARequiredAnswerStartsNothing(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		f := newWebchat(t, s)
		for _, tc := range []struct {
			name string
			form map[string]string
			says string
		}{
			{"no email", map[string]string{"friendly_name": "Ada", "query": "Hi"}, "email is required"},
			{"a bad email", map[string]string{"friendly_name": "Ada", "email": "ada", "query": "Hi"}, "not an email address"},
			{"a blank name", map[string]string{"friendly_name": "  ", "email": "ada@example.com", "query": "Hi"}, "friendly_name is required"},
		} {
			res, raw := f.start(t, siteOrigin, tc.form)
			wantErrorBody(t, res, raw, 20001, 400)
			if !strings.Contains(string(raw), tc.says) {
				t.Errorf("%s: %s, want a message saying %q", tc.name, raw, tc.says)
			}
		}
		res, raw := mcsCall{method: "POST", path: "/webchat/v1/sessions", body: []byte(`{"deployment_key":"` + f.d.Key + `","name":"Ada"}`),
			header: map[string]string{"Origin": siteOrigin}, anonymous: true}.do(t, s)
		wantErrorBody(t, res, raw, 20001, 400)
		res, raw = mcsCall{method: "POST", path: "/webchat/v1/sessions", body: []byte(`{"deployment_key":"nope"}`),
			header: map[string]string{"Origin": siteOrigin}, anonymous: true}.do(t, s)
		wantErrorBody(t, res, raw, 20404, 404)
		if n := f.conversationCount(t); n != 0 {
			t.Fatalf("refused sessions left %d conversations", n)
		}
	})
}

func TestSessionStartsArePerClientIPLimited(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		f := newWebchat(t, s)
		for range 5 {
			f.session(t)
		}
		res, raw := f.start(t, siteOrigin, ada)
		wantErrorBody(t, res, raw, 20429, 429)
		if n := f.conversationCount(t); n != 5 {
			t.Fatalf("%d conversations after a refused sixth session, want 5", n)
		}
	})
}

func TestSessionTokensRenewWhileTheChatIsOpen(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		f := newWebchat(t, s)
		sess := f.session(t)
		res, raw := bearer(t, s, "POST", "/webchat/v1/token", sess.Token, nil, map[string]string{"Origin": siteOrigin})
		var renewed sessionBody
		if res.StatusCode != 200 || json.Unmarshal(raw, &renewed) != nil || renewed.Identity != sess.Identity ||
			renewed.ConversationSid != sess.ConversationSid || renewed.ServiceSid != f.service {
			t.Fatalf("renew answered %d %s", res.StatusCode, raw)
		}
		if at, err := s.Tokens.Verify(t.Context(), renewed.Token); err != nil || at.Identity != sess.Identity {
			t.Fatalf("the renewed token verifies as %+v, %v", at, err)
		}
		if res.Header.Get("Access-Control-Allow-Origin") != siteOrigin {
			t.Fatalf("the deployment's origin cannot read the renewed token (headers %v)", res.Header)
		}

		res, raw = bearer(t, s, "POST", "/webchat/v1/token", "not-a-token", nil, nil)
		wantErrorBody(t, res, raw, 20101, 401)
		if got := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Fatalf("WWW-Authenticate %q: a Basic challenge would make browsers prompt for a password", got)
		}
		res, raw = mcsCall{method: "POST", path: "/webchat/v1/token", anonymous: true}.do(t, s)
		wantErrorBody(t, res, raw, 20101, 401)

		agent, _, err := s.Tokens.Mint(t.Context(), "agent-alice", f.service, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		res, raw = bearer(t, s, "POST", "/webchat/v1/token", agent, nil, nil)
		wantErrorBody(t, res, raw, 20403, 403)

		if _, err := s.Engine.UpdateConversation(t.Context(), f.service, sess.ConversationSid,
			conversations.ConversationParams{State: new(conversations.StateClosed)}); err != nil {
			t.Fatal(err)
		}
		res, raw = bearer(t, s, "POST", "/webchat/v1/token", sess.Token, nil, nil)
		wantErrorBody(t, res, raw, 20403, 403)
		if !strings.Contains(string(raw), "ended") {
			t.Fatalf("refusal %s, want it to say the chat has ended", raw)
		}
	})
}

func TestGuestsUploadWhatWebchatCarries(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		f := newWebchat(t, s)
		sess := f.session(t)
		png := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 5000)
		res, raw := bearer(t, s, "POST", "/webchat/v1/media?filename=receipt.png", sess.Token, png, map[string]string{"Content-Type": "image/png"})
		var m struct {
			Sid         string `json:"sid"`
			ContentType string `json:"content_type"`
			Filename    string `json:"filename"`
			Size        int64  `json:"size"`
		}
		if res.StatusCode != http.StatusCreated || json.Unmarshal(raw, &m) != nil || !strings.HasPrefix(m.Sid, "ME") ||
			m.ContentType != "image/png" || m.Filename != "receipt.png" || m.Size != int64(len(png)) {
			t.Fatalf("upload answered %d %s", res.StatusCode, raw)
		}
		stored, err := s.Media.Get(t.Context(), f.service, m.Sid)
		if err != nil || stored.Author != sess.Identity {
			t.Fatalf("stored %+v, %v; want the guest's media in the session's service", stored, err)
		}
		// The guest sends it; the message carries it.
		if _, err := s.Engine.AddMessage(t.Context(), f.service, sess.ConversationSid,
			conversations.MessageParams{Author: new(sess.Identity), MediaSids: []string{m.Sid}}); err != nil {
			t.Fatal(err)
		}

		var rows int64
		count := func() int64 {
			if err := s.DB.Gorm.Table("media").Count(&rows).Error; err != nil {
				t.Fatal(err)
			}
			return rows
		}
		before := count()
		res, raw = bearer(t, s, "POST", "/webchat/v1/media?filename=a.zip", sess.Token, []byte("PK"), map[string]string{"Content-Type": "application/zip"})
		wantErrorBody(t, res, raw, 50511, 400)
		// Over 16 MB declared: refused before a byte is read.
		res, raw = rawUpload(t, s, sess.Token, fmt.Sprintf("Content-Length: %d\r\n", webchat.MaxMediaSize+1), make([]byte, 9000))
		wantErrorBody(t, res, raw, 50512, 413)
		// A body that declares no length is cut off once over the limit.
		big := make([]byte, webchat.MaxMediaSize+1)
		res, raw = rawUpload(t, s, sess.Token, "Transfer-Encoding: chunked\r\n", chunked(big))
		wantErrorBody(t, res, raw, 50512, 413)
		res, raw = bearer(t, s, "POST", "/webchat/v1/media", "garbage", []byte("x"), map[string]string{"Content-Type": "image/png"})
		wantErrorBody(t, res, raw, 20101, 401)
		if after := count(); after != before {
			t.Fatalf("refused uploads left %d media rows", after-before)
		}
		// A file of exactly the limit is fine, however it arrives.
		res, raw = bearer(t, s, "POST", "/webchat/v1/media", sess.Token, big[:webchat.MaxMediaSize], map[string]string{"Content-Type": "application/pdf"})
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("a 16 MB upload answered %d %s", res.StatusCode, raw)
		}
	})
}

// rawUpload writes a webchat PDF upload by hand (a length it does not
// send, or chunks), then reads the answer: the server may refuse before
// reading it all.
func rawUpload(t *testing.T, s *webtest.Server, token, headers string, body []byte) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "POST /webchat/v1/media?filename=big.pdf HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + token +
		"\r\nContent-Type: application/pdf\r\n" + headers + "\r\n"
	go func() { _, _ = conn.Write(append([]byte(req), body...)) }()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Close {
		t.Fatalf("a refused upload left the connection open: its unread bytes would be read as the next request")
	}
	return res, raw
}

// chunked encodes b as one chunk and the last one.
func chunked(b []byte) []byte {
	out := fmt.Appendf(nil, "%x\r\n", len(b))
	out = append(out, b...)
	return append(out, "\r\n0\r\n\r\n"...)
}

func TestTranscriptsAreOnlyForTheSessionsOwnConversation(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		f := newWebchat(t, s)
		sess := f.session(t)
		ctx := t.Context()
		if _, err := s.Engine.CreateUser(ctx, f.service, conversations.UserParams{Identity: new("agent-alice"), FriendlyName: new("Alice")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Engine.AddParticipant(ctx, f.service, sess.ConversationSid, conversations.ParticipantParams{Identity: new("agent-alice")}); err != nil {
			t.Fatal(err)
		}
		pdf, err := s.Media.Save(ctx, f.service, "application/pdf", "returns.pdf", "agent-alice", strings.NewReader("%PDF-1.4 returns"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Engine.AddMessage(ctx, f.service, sess.ConversationSid, conversations.MessageParams{Author: new("agent-alice"),
			Body: new("It ships today.\nHere is our returns form."), MediaSids: []string{pdf.Sid}}); err != nil {
			t.Fatal(err)
		}

		res, raw := bearer(t, s, "GET", "/webchat/v1/conversations/"+sess.ConversationSid+"/transcript", sess.Token, nil, nil)
		text := string(raw)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") ||
			!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") ||
			!strings.Contains(res.Header.Get("Content-Disposition"), "transcript-"+sess.ConversationSid+".txt") {
			t.Fatalf("transcript answered %d %v %s", res.StatusCode, res.Header, raw)
		}
		for _, want := range []string{"Webchat: Ada Lovelace", "] Ada Lovelace: Where is my order?", "] Concierge: Welcome to the shop!",
			"] Alice: It ships today.\n    Here is our returns form.", "Attachment: returns.pdf (application/pdf"} {
			if !strings.Contains(text, want) {
				t.Fatalf("transcript lacks %q:\n%s", want, text)
			}
		}
		if strings.Index(text, "Where is my order?") > strings.Index(text, "Welcome to the shop!") {
			t.Fatalf("transcript out of order:\n%s", text)
		}

		other := f.session(t)
		res, raw = bearer(t, s, "GET", "/webchat/v1/conversations/"+sess.ConversationSid+"/transcript", other.Token, nil, nil)
		wantErrorBody(t, res, raw, 20404, 404)
		res, raw = bearer(t, s, "GET", "/webchat/v1/conversations/"+sess.ConversationSid+"/transcript", "garbage", nil, nil)
		wantErrorBody(t, res, raw, 20101, 401)
	})
}
