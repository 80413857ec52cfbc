package node

import (
	"context"
	"time"

	"jukinet/internal/asset"
	"jukinet/internal/jptext"
)

// The demo's information assets (internal/asset), besides its terminal,
// which the register shows from its approval.
const (
	DemoServerAsset  = "DEMO-SV-01"
	DemoProgramAsset = "DEMO-PG-01"
	DemoDataAsset    = "DEMO-DS-01"
	// DemoRetiredMedium is a backup medium retired a month ago, with the
	// record of how it was erased (degaussed by the maintenance vendor,
	// witnessed by the chief security officer).
	DemoRetiredMedium = "DEMO-MD-01"
)

// SeedDemoAssets gives a demo node its register of information assets,
// once: the CS server in the server room, its application program and the
// data set of (synthetic) identity information, all managed by the system
// administrator (koto-ward:14), and a backup medium retired a month ago
// with its erasure record. Every step goes through the register and the
// audit log like any change. It does nothing when an asset other than a
// terminal is registered; now is the node's clock.
func SeedDemoAssets(ctx context.Context, ar *asset.Register, now time.Time) error {
	all, err := ar.List(ctx)
	if err != nil {
		return err
	}
	for _, a := range all {
		if a.Kind != asset.KindTerminal {
			return nil
		}
	}
	admin := facilityWho(DemoAdmin)
	today := now.In(jptext.JST)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, jptext.JST)
	installed := today.AddDate(-2, 0, 0)
	room := "本庁舎（デモ） サーバ室"
	for _, a := range []asset.Asset{
		{ID: DemoServerAsset, Kind: asset.KindServer, Name: "住基ネットCSサーバ（デモ）", Location: room, Manager: DemoAdmin, InstalledOn: installed},
		{ID: DemoProgramAsset, Kind: asset.KindProgram, Name: "CSアプリケーション（デモ）", Location: "CSサーバ " + DemoServerAsset, Manager: DemoAdmin, InstalledOn: installed},
		{ID: DemoDataAsset, Kind: asset.KindDataset, Name: "本人確認情報（デモ・すべて架空の住民）", Location: "CSサーバ " + DemoServerAsset, Manager: DemoAdmin, InstalledOn: installed},
		{ID: DemoRetiredMedium, Kind: asset.KindMedia, Name: "バックアップ媒体 LTO-7（デモ）", Location: room + " 媒体保管庫", Manager: DemoAdmin, InstalledOn: today.AddDate(-3, 0, 0)},
	} {
		if err := ar.Add(ctx, admin, a); err != nil {
			return err
		}
	}
	retired := today.AddDate(0, -1, 0)
	return ar.Retire(ctx, admin, DemoRetiredMedium, asset.Retirement{Day: retired, Reason: "保存期間の満了による媒体の更新（デモ）",
		Erasure: &asset.Erasure{Method: asset.Degauss, By: DemoVendor + " 見本 保守員", Witness: DemoChief, Day: retired}})
}
