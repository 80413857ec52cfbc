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
	p, err := db.migrationProvider()
	if err != nil {
		return err
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

// MigrateDownTo rolls the schema back to version, running the Down of
// every migration applied after it, newest first. A Down undoes its Up,
// dropping what the Up made, data included: it is for tests of a
// migration's Down and for undoing an upgrade by hand, never for a node
// in service.
func (db *DB) MigrateDownTo(ctx context.Context, version int64) error {
	p, err := db.migrationProvider()
	if err != nil {
		return err
	}
	if _, err := p.DownTo(ctx, version); err != nil {
		return fmt.Errorf("roll database %s back to migration %d: %w", db.shown, version, err)
	}
	return nil
}

// migrationProvider returns a goose provider of the migrations for the
// database's dialect: the embedded SQL files and the Go migrations, which
// are given the dialect (a Go migration runs on a bare *sql.Tx, whose
// placeholders are the dialect's own).
func (db *DB) migrationProvider() (*goose.Provider, error) {
	dir, dialect := "migrations/sqlite", goose.DialectSQLite3
	if db.dialect == Postgres {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(dialect, db.sql, fsys, goose.WithGoMigrations(tileMigration(db.dialect)))
	if err != nil {
		return nil, fmt.Errorf("prepare migrations: %w", err)
	}
	return p, nil
}

// MigrationsDigest identifies the migrations built into this binary: a
// SHA-256 over every migration file's name and content, both dialects, and
// the identifiers of the Go migrations (which change with what they do),
// in hexadecimal. A database migrated by one binary matches another's
// schema when their digests are equal (the tests' template databases are
// named by it).
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
	fmt.Fprintf(h, "%s\n", tileMigrationID)
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
