package static_test

import (
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/switchboardhq/switchboard/static"
)

// The loader runs on every page of a customer's site, so it must stay
// small: the budget is 5 KB gzipped.
func TestWebchatLoaderStaysUnderFiveKilobytesGzipped(t *testing.T) {
	src, err := static.FS.ReadFile("webchat.js")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(src); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	const budget = 5 << 10
	if buf.Len() > budget {
		t.Fatalf("webchat.js is %d bytes gzipped, over the %d-byte budget", buf.Len(), budget)
	}
	t.Logf("webchat.js: %d bytes, %d gzipped", len(src), buf.Len())
}

func TestWebchatFrameAssetsAreEmbedded(t *testing.T) {
	for _, name := range []string{"webchat/frame.js", "webchat/frame.css"} {
		if b, err := static.FS.ReadFile(name); err != nil || len(b) == 0 {
			t.Errorf("%s is not embedded: %v", name, err)
		}
	}
}
