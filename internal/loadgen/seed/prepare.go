package seed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/migrations"
)

// formatVersion changes whenever Seed lays the data out differently, so
// templates of the old layout are rebuilt rather than reused.
const formatVersion = 1

// buildingSuffix marks a template under construction: only a complete one
// bears the final name.
const buildingSuffix = "_building"

// dbNameRE keeps database names plain identifiers, short enough that the
// template's name under construction fits Postgres's 63 bytes.
var dbNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,36}$`)

// Prepare makes database dbName on the server of adminDSN a fresh copy of
// the seeded template for ds and returns its DSN. The template (named
// dbName+"_seed_"+a short hash of the dataset, a seed-format version
// constant and the migration files) is built once — migrated with the
// project's migrations, bootstrapped, seeded — and reused by later runs;
// stale templates of older hashes are dropped. log reports progress (may be
// nil). adminDSN is a postgres:// URL of a role that may create databases.
func Prepare(ctx context.Context, adminDSN, dbName string, ds Dataset, log func(format string, args ...any)) (dsn string, err error) {
	if log == nil {
		log = func(string, ...any) {}
	}
	if !dbNameRE.MatchString(dbName) {
		return "", fmt.Errorf("seed: database name %q: want a lowercase identifier of at most 37 characters", dbName)
	}
	if err := ds.validate(); err != nil {
		return "", err
	}
	if dsn, err = withDatabase(adminDSN, dbName); err != nil {
		return "", err
	}
	h, err := templateHash(ds)
	if err != nil {
		return "", err
	}
	prefix := dbName + "_seed_"
	tmpl := prefix + h
	admin, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return "", fmt.Errorf("seed: connect admin: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	// Two runs preparing the same database would drop each other's
	// template under construction; the lock ends with the session.
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock(hashtext($1))`, prefix); err != nil {
		return "", fmt.Errorf("seed: lock: %w", err)
	}
	var stale []string
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE left(datname, $1) = $2 AND datname <> $3`,
		len(prefix), prefix, tmpl)
	if err == nil {
		stale, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return "", fmt.Errorf("seed: list templates: %w", err)
	}
	for _, name := range stale {
		log("seed: dropping stale template %s", name)
		if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			return "", fmt.Errorf("seed: drop %s: %w", name, err)
		}
	}
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tmpl).Scan(&exists); err != nil {
		return "", fmt.Errorf("seed: find template: %w", err)
	}
	if exists {
		log("seed: reusing template %s", tmpl)
	} else if err := build(ctx, admin, adminDSN, tmpl, ds, log); err != nil {
		return "", err
	}
	start := time.Now()
	target := pgx.Identifier{dbName}.Sanitize()
	if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+target+` WITH (FORCE)`); err != nil {
		return "", fmt.Errorf("seed: drop %s: %w", dbName, err)
	}
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+target+` TEMPLATE `+pgx.Identifier{tmpl}.Sanitize()+` STRATEGY FILE_COPY`); err != nil {
		return "", fmt.Errorf("seed: clone %s: %w", tmpl, err)
	}
	log("seed: cloned %s to %s in %s", tmpl, dbName, time.Since(start).Round(time.Millisecond))
	return dsn, nil
}

// build makes template tmpl for ds under a temporary name and gives it its
// final name only once complete, so an interrupted build is never cloned (a
// later Prepare drops what it left as stale).
func build(ctx context.Context, admin *pgx.Conn, adminDSN, tmpl string, ds Dataset, log func(string, ...any)) (err error) {
	start := time.Now()
	building := tmpl + buildingSuffix
	log("seed: building template %s (%d conversations, %d messages)", tmpl, ds.Conversations, ds.Messages)
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{building}.Sanitize()); err != nil {
		return fmt.Errorf("seed: create %s: %w", building, err)
	}
	defer func() {
		if err != nil {
			_, _ = admin.Exec(context.WithoutCancel(ctx), `DROP DATABASE IF EXISTS `+pgx.Identifier{building}.Sanitize()+` WITH (FORCE)`)
		}
	}()
	dsn, err := withDatabase(adminDSN, building)
	if err != nil {
		return err
	}
	if err := fill(ctx, dsn, ds); err != nil {
		return fmt.Errorf("seed: build %s: %w", tmpl, err)
	}
	// A template must have no connections when it is cloned: refusing them
	// outright keeps anyone from opening one by mistake.
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{building}.Sanitize()+` WITH ALLOW_CONNECTIONS false`); err != nil {
		return fmt.Errorf("seed: seal %s: %w", building, err)
	}
	if err := rename(ctx, admin, building, tmpl); err != nil {
		return err
	}
	var size string
	if err := admin.QueryRow(ctx, `SELECT pg_size_pretty(pg_database_size($1::text))`, tmpl).Scan(&size); err != nil {
		return fmt.Errorf("seed: size of %s: %w", tmpl, err)
	}
	log("seed: built template %s in %s, %s", tmpl, time.Since(start).Round(time.Millisecond), size)
	return nil
}

// fill migrates, bootstraps and seeds the database at dsn as the server
// would find it on first start, then closes every connection to it.
func fill(ctx context.Context, dsn string, ds Dataset) error {
	d, err := db.Open(ctx, db.Options{URL: dsn})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		return err
	}
	acct, err := auth.NewStore(d).EnsureAccount(ctx)
	if err != nil {
		return err
	}
	if err := conversations.Bootstrap(ctx, d, acct.Sid); err != nil {
		return err
	}
	if err := taskrouter.Bootstrap(ctx, d, acct.Sid); err != nil {
		return err
	}
	return Seed(ctx, d, ds)
}

// rename gives database from the name to. A backend whose client just
// closed its connection may still be exiting; it is ended and the rename
// tried again.
func rename(ctx context.Context, admin *pgx.Conn, from, to string) error {
	stmt := `ALTER DATABASE ` + pgx.Identifier{from}.Sanitize() + ` RENAME TO ` + pgx.Identifier{to}.Sanitize()
	for attempt := 0; ; attempt++ {
		_, err := admin.Exec(ctx, stmt)
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || attempt == 50 {
			if err != nil {
				return fmt.Errorf("seed: rename %s: %w", from, err)
			}
			return nil
		}
		if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, from); err != nil {
			return fmt.Errorf("seed: end connections to %s: %w", from, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// templateHash names the template's content: the data set, the seed
// layout, and the schema (every Postgres migration file's name and text).
func templateHash(ds Dataset) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "format %d\nconversations %d\nmessages %d\n", formatVersion, ds.Conversations, ds.Messages)
	files, err := fs.Glob(migrations.FS, "postgres/*.sql")
	if err != nil {
		return "", fmt.Errorf("seed: migrations: %w", err)
	}
	for _, f := range files {
		b, err := fs.ReadFile(migrations.FS, f)
		if err != nil {
			return "", fmt.Errorf("seed: migrations: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:10], nil
}

// withDatabase returns dsn pointed at database name.
func withDatabase(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("seed: admin DSN: want a postgres:// URL")
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}
