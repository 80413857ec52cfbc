package db

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// migrations holds one folder of goose SQL migrations per dialect. The two
// folders are kept in step: the same numbered file in each makes the same
// tables.
//
//go:embed migrations
var migrations embed.FS

// Migrate brings the schema up to date. It is safe to run on every start.
func (db *DB) Migrate(ctx context.Context) error {
	return db.MigrateTo(ctx, 0)
}

// MigrateTo applies the migrations up to version (all of them when version
// is 0): tests of a migration stop before it, write what an older node
// wrote, and go on.
func (db *DB) MigrateTo(ctx context.Context, version int64) error {
	dir, dialect := "migrations/sqlite", goose.DialectSQLite3
	if db.dialect == Postgres {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(dialect, db.sql, fsys)
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	if version == 0 {
		_, err = p.Up(ctx)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	if err != nil {
		return fmt.Errorf("migrate database %s: %w", db.shown, err)
	}
	return nil
}

// MigrationsDigest identifies the migrations built into this binary: a
// SHA-256 over every migration file's name and content, both dialects, in
// hexadecimal. A database migrated by one binary matches another's schema
// when their digests are equal (the tests' template databases are named by
// it).
func MigrationsDigest() string {
	h := sha256.New()
	err := fs.WalkDir(migrations, "migrations", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := migrations.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		// The files are embedded in the binary: reading them cannot fail.
		panic(fmt.Sprintf("read the embedded migrations: %v", err))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SchemaVersion returns the newest migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.QueryRow(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
