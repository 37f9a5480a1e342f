#!/usr/bin/env bash
# The main job on the bundled fixtures: create a registry, add three recipients, mark a photo,
# a design draft and a PDF price sheet for each of them, simulate leaks of one recipient's
# copies, identify them.
set -euo pipefail
cd "$(dirname "$0")/.."
work=build/demo
rm -rf "$work"
mkdir -p "$work"
leaktrace() { .venv/bin/leaktrace --registry "$work/registry" "$@"; }

echo "== 1. create a registry (database, secret key, store of originals)"
leaktrace init
echo "== 2. add three recipients"
leaktrace recipients add "Auto Weekly" --id auto-weekly --org "Weekly Media"
leaktrace recipients add "Motor Daily" --id motor-daily --org "Daily Press"
leaktrace recipients add "Gadget Review" --id gadget-review --org "Review Group"
echo "== 3. mark a photo, a design draft and a PDF price sheet for every recipient"
leaktrace mark fixtures/photos/astronaut.jpg fixtures/drafts/cad_bumper.png \
  fixtures/pdfs/reportlab_price_sheet.pdf --all --out "$work/dist"
echo "== 4. Motor Daily's copies leak: a social-media repost of the photo, a blog's crop of the draft"
leaktrace simulate "$work/dist/motor-daily/astronaut.jpg" --attack social480 --out "$work/leaked-photo.jpg"
leaktrace simulate "$work/dist/motor-daily/cad_bumper.png" --attack crop25 --out "$work/leaked-draft.jpg"
echo "== 5. identify the leaks"
leaktrace identify "$work/leaked-photo.jpg"
leaktrace identify "$work/leaked-draft.jpg"
echo "== 6. and the price sheet, forwarded as it was received"
leaktrace identify "$work/dist/motor-daily/reportlab_price_sheet.pdf"
echo "== the unmarked original must not be attributed to anyone (exit code 4 = nobody attributed)"
leaktrace simulate fixtures/photos/astronaut.jpg --attack social480 --out "$work/original-repost.jpg"
status=0
leaktrace identify "$work/original-repost.jpg" || status=$?
test "$status" -eq 4
echo "Demo finished: outputs in $work"
