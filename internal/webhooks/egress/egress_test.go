package egress

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestPermittedRefusesInternalAddressesUnlessAllowed(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	cases := []struct {
		addr  string
		allow []netip.Prefix
		want  bool
	}{
		{"93.184.216.34", nil, true},
		{"2606:2800:220:1:248:1893:25c8:1946", nil, true},
		{"127.0.0.1", nil, false},
		{"127.0.0.1", loopback, true},
		{"::1", loopback, false},
		{"::ffff:127.0.0.1", nil, false},
		{"::ffff:127.0.0.1", loopback, true},
		{"10.1.2.3", nil, false},
		{"172.16.0.1", nil, false},
		{"172.32.0.1", nil, true},
		{"192.168.1.1", nil, false},
		{"100.64.0.1", nil, false},
		{"169.254.169.254", nil, false},
		{"0.0.0.0", nil, false},
		{"::", nil, false},
		{"224.0.0.1", nil, false},
		{"255.255.255.255", nil, false},
		{"fd00::1", nil, false},
		{"fe80::1", nil, false},
		{"ff02::1", nil, false},
	}
	for _, tc := range cases {
		if got := Permitted(netip.MustParseAddr(tc.addr), tc.allow); got != tc.want {
			t.Errorf("Permitted(%s, %v) = %v, want %v", tc.addr, tc.allow, got, tc.want)
		}
	}
}

func TestClientChecksTheAddressItDials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	defer srv.Close()
	// A name, not an address: the check must see what the name resolves to.
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	u := "http://localhost:" + port + "/"

	_, err = Client(nil, time.Second).Get(u)
	if !IsRefused(err) {
		t.Fatalf("GET %s without an allowance = %v, want refused", u, err)
	}
	resp, err := Client([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, time.Second).Get(u)
	if err != nil {
		t.Fatalf("GET %s with loopback allowed: %v", u, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("status = %d", resp.StatusCode)
	}
}

func TestClientFollowsNoRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Redirect(w, &http.Request{}, "http://169.254.169.254/latest/meta-data", http.StatusFound)
	}))
	defer srv.Close()
	resp, err := Client([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, time.Second).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d, want the 302 itself", resp.StatusCode)
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes("127.0.0.0/8, 10.1.2.3 fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.0/8", "10.1.2.3/32", "fd00::/8"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if _, err := ParsePrefixes("localhost"); err == nil {
		t.Fatal("a host name parsed as a range")
	}
	if got, err := ParsePrefixes(""); err != nil || len(got) != 0 {
		t.Fatalf("empty = %v, %v", got, err)
	}
}
