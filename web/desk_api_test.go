package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/web/webtest"
)

// deskCall makes a form-encoded /v1 request with the account's credentials
// and decodes its JSON answer.
func deskCall(t *testing.T, s *webtest.Server, method, path string, form url.Values, want int) map[string]any {
	t.Helper()
	c := mcsCall{method: method, path: path}
	if form != nil {
		c.body = []byte(form.Encode())
		c.header = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	}
	res, raw := c.do(t, s)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return out
}

func listed(page map[string]any, key, field string) string {
	var out []string
	items, _ := page[key].([]any)
	for _, it := range items {
		out = append(out, it.(map[string]any)[field].(string))
	}
	return strings.Join(out, "|")
}

func TestCannedResponsesOverREST(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ws, err := s.TaskRouter.DefaultWorkspace(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		const base = "/v1/Desk/CannedResponses"
		refund := deskCall(t, s, "POST", base, url.Values{"WorkspaceSid": {ws.Sid}, "Title": {"Refund policy"},
			"Body": {"Refunds take 5 business days."}, "Tags": {"Billing,refunds", "vip"}}, http.StatusCreated)
		sid := refund["sid"].(string)
		if refund["workspace_sid"] != ws.Sid || refund["account_sid"] != s.AccountSid || !strings.HasPrefix(sid, "CN") ||
			!strings.HasSuffix(refund["url"].(string), base+"/"+sid) || strings.Join(anyStrings(refund["tags"]), ",") != "billing,refunds,vip" {
			t.Fatalf("created = %v", refund)
		}
		greeting := deskCall(t, s, "POST", base, url.Values{"Title": {"Greeting"}, "Body": {"Hi! How can I help?"}}, http.StatusCreated)
		if greeting["workspace_sid"] != nil || len(anyStrings(greeting["tags"])) != 0 {
			t.Fatalf("a global response = %v, want workspace_sid null and no tags", greeting)
		}

		page := deskCall(t, s, "GET", base+"?WorkspaceSid="+ws.Sid+"&Query=refunds", nil, http.StatusOK)
		if listed(page, "canned_responses", "title") != "Refund policy" || page["meta"].(map[string]any)["key"] != "canned_responses" {
			t.Fatalf("search = %v", page)
		}
		page = deskCall(t, s, "GET", base+"?PageSize=1", nil, http.StatusOK)
		meta := page["meta"].(map[string]any)
		if listed(page, "canned_responses", "title") != "Greeting" || meta["next_page_url"] == nil {
			t.Fatalf("first page = %v", page)
		}
		page = deskCall(t, s, "GET", base+"?Tag=vip", nil, http.StatusOK)
		if listed(page, "canned_responses", "title") != "Refund policy" {
			t.Fatalf("by tag = %v", page)
		}

		up := deskCall(t, s, "POST", base+"/"+sid, url.Values{"Body": {"Refunds take 3 business days."}, "Tags": {""}}, http.StatusOK)
		if up["body"] != "Refunds take 3 business days." || up["title"] != "Refund policy" || len(anyStrings(up["tags"])) != 0 {
			t.Fatalf("updated = %v", up)
		}
		got := deskCall(t, s, "GET", base+"/"+sid, nil, http.StatusOK)
		if got["body"] != up["body"] {
			t.Fatalf("fetched = %v", got)
		}

		for _, bad := range []url.Values{
			{"Title": {"No body"}},
			{"Title": {strings.Repeat("t", 101)}, "Body": {"x"}},
			{"Title": {"x"}, "Body": {"x"}, "WorkspaceSid": {"WS00000000000000000000000000000000"}},
			{"Title": {"x"}, "Body": {"x"}, "Tags": {`"quoted"`}},
		} {
			e := deskCall(t, s, "POST", base, bad, http.StatusBadRequest)
			if e["code"] != float64(20001) || e["message"] == "" {
				t.Fatalf("refusal of %v = %v", bad, e)
			}
		}
		deskCall(t, s, "POST", base+"/"+sid, url.Values{"WorkspaceSid": {""}}, http.StatusBadRequest)
		if n := len(deskCall(t, s, "GET", base, nil, http.StatusOK)["canned_responses"].([]any)); n != 2 {
			t.Fatalf("%d responses after refusals, want 2", n)
		}

		deskCall(t, s, "DELETE", base+"/"+sid, nil, http.StatusNoContent)
		deskCall(t, s, "GET", base+"/"+sid, nil, http.StatusNotFound)
		deskCall(t, s, "DELETE", base+"/"+sid, nil, http.StatusNotFound)
		res, _ := mcsCall{method: "GET", path: base, anonymous: true}.do(t, s)
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("without credentials: %d, want 401", res.StatusCode)
		}
	})
}

func anyStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, x.(string))
	}
	return out
}

func TestDispositionsOverREST(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ws, err := s.TaskRouter.DefaultWorkspace(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		const base = "/v1/Desk/Dispositions"
		resolved := deskCall(t, s, "POST", base, url.Values{"WorkspaceSid": {ws.Sid}, "Code": {"resolved"}, "Label": {"Resolved"}},
			http.StatusCreated)
		sid := resolved["sid"].(string)
		if resolved["active"] != true || resolved["code"] != "resolved" || !strings.HasPrefix(sid, "DI") {
			t.Fatalf("created = %v", resolved)
		}
		deskCall(t, s, "POST", base, url.Values{"WorkspaceSid": {ws.Sid}, "Code": {"spam"}, "Label": {"Spam"}, "Active": {"false"}},
			http.StatusCreated)
		dup := deskCall(t, s, "POST", base, url.Values{"WorkspaceSid": {ws.Sid}, "Code": {"resolved"}, "Label": {"Again"}}, http.StatusConflict)
		if !strings.Contains(dup["message"].(string), "resolved") {
			t.Fatalf("duplicate code refusal = %v", dup)
		}
		for _, bad := range []url.Values{
			{"Code": {"x"}, "Label": {"X"}},
			{"WorkspaceSid": {ws.Sid}, "Code": {"two words"}, "Label": {"X"}},
			{"WorkspaceSid": {ws.Sid}, "Code": {"x"}},
			{"WorkspaceSid": {ws.Sid}, "Code": {"x"}, "Label": {"X"}, "Active": {"maybe"}},
		} {
			deskCall(t, s, "POST", base, bad, http.StatusBadRequest)
		}

		page := deskCall(t, s, "GET", base+"?WorkspaceSid="+ws.Sid+"&Active=true", nil, http.StatusOK)
		if listed(page, "dispositions", "code") != "resolved" {
			t.Fatalf("active dispositions = %v", page)
		}
		page = deskCall(t, s, "GET", base, nil, http.StatusOK)
		if listed(page, "dispositions", "code") != "resolved|spam" {
			t.Fatalf("all dispositions = %v", page)
		}

		deskCall(t, s, "POST", base+"/"+sid, url.Values{"Code": {"done"}}, http.StatusBadRequest)
		up := deskCall(t, s, "POST", base+"/"+sid, url.Values{"Label": {"Solved"}, "Active": {"false"}}, http.StatusOK)
		if up["label"] != "Solved" || up["active"] != false || up["code"] != "resolved" {
			t.Fatalf("updated = %v", up)
		}
		deskCall(t, s, "DELETE", base+"/"+sid, nil, http.StatusNoContent)
		deskCall(t, s, "GET", base+"/"+sid, nil, http.StatusNotFound)
	})
}
