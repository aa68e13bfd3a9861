package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Store keeps media bytes under a key (the media SID). A filesystem store
// serves one node or a shared volume; an S3-compatible store fills the same
// interface for many nodes.
type Store interface {
	// Put writes everything r yields under key and returns its size. It is
	// all or nothing: when r or the write fails, key holds nothing and the
	// error wraps r's error.
	Put(ctx context.Context, key string, r io.Reader) (size int64, err error)
	// Open reads the bytes under key; a missing key is an error wrapping
	// fs.ErrNotExist.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// FS is a Store in a local directory, sharded into subdirectories by the two
// characters after a SID's prefix so no directory grows too large.
type FS struct{ dir string }

// NewFS returns a store rooted at dir, creating it if needed.
func NewFS(dir string) (*FS, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("media: store directory: %w", err)
	}
	return &FS{dir: dir}, nil
}

// path is where key lives. Keys are SIDs; anything else (a slash, a dot)
// is refused so no key can reach outside the store.
func (s *FS) path(key string) (string, error) {
	if len(key) < 4 || len(key) > 64 {
		return "", fmt.Errorf("media: bad store key %q", key)
	}
	for _, c := range key {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "", fmt.Errorf("media: bad store key %q", key)
		}
	}
	return filepath.Join(s.dir, key[2:4], key), nil
}

// Put writes to a temporary file beside the final one, syncs it and renames
// it into place, so a reader never sees a partial file and a crash leaves at
// worst a stray temporary file.
func (s *FS) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	final, err := s.path(key)
	if err != nil {
		return 0, err
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, fmt.Errorf("media: store shard: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".put-*")
	if err != nil {
		return 0, fmt.Errorf("media: store: %w", err)
	}
	size, err := io.Copy(tmp, r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), final)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return 0, fmt.Errorf("media: store %s: %w", key, err)
	}
	// The rename is durable only once the directory entry is on disk.
	if err := syncDir(dir); err != nil {
		_ = os.Remove(final)
		return 0, fmt.Errorf("media: store %s: %w", key, err)
	}
	return size, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open opens the file under key.
func (s *FS) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("media: open %s: %w", key, err)
	}
	return f, nil
}

// Delete removes the file under key.
func (s *FS) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("media: delete %s: %w", key, err)
	}
	return nil
}
