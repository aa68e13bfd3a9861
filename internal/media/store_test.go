package media_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/media"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// files lists every file under dir, temporary ones included.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFSStoreWritesReadsAndDeletes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := media.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := sid.New(sid.Media)
	body := bytes.Repeat([]byte("0123456789"), 10_000)
	n, err := s.Put(ctx, key, bytes.NewReader(body))
	if err != nil || n != int64(len(body)) {
		t.Fatalf("put = %d, %v; want %d bytes", n, err, len(body))
	}
	if got := files(t, dir); len(got) != 1 || got[0] != filepath.Join(dir, key[2:4], key) {
		t.Fatalf("store holds %v, want only %s in its shard %s", got, key, key[2:4])
	}
	rc, err := s.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read back %d bytes (%v), want the %d written", len(got), err, len(body))
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open after delete = %v, want fs.ErrNotExist", err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("deleting a missing key = %v, want nil", err)
	}
}

// failingReader yields some bytes, then fails as a dropped upload does.
type failingReader struct{ sent bool }

var errDropped = errors.New("connection dropped")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.sent {
		return 0, errDropped
	}
	r.sent = true
	return copy(p, strings.Repeat("x", len(p))), nil
}

func TestFSStorePutIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := media.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := sid.New(sid.Media)
	if _, err := s.Put(ctx, key, &failingReader{}); !errors.Is(err, errDropped) {
		t.Fatalf("put from a failing reader = %v, want its error", err)
	}
	if _, err := s.Open(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open after a failed put = %v, want fs.ErrNotExist", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("a failed put left %v behind", got)
	}
}

func TestFSStoreRefusesKeysThatAreNotSids(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := media.NewFS(filepath.Join(dir, "media"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "ME", "../../etc/passwd", "ME12/../../x", "ME1234.tmp", strings.Repeat("a", 65)} {
		if _, err := s.Put(ctx, key, strings.NewReader("x")); err == nil {
			t.Errorf("put %q succeeded", key)
		}
		if _, err := s.Open(ctx, key); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("open %q = %v, want a refusal", key, err)
		}
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("refused keys wrote %v", got)
	}
}
