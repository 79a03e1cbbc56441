#!/bin/sh
# Extract main.* struct layouts from a Go binary's (compressed) DWARF with
# binutils readelf, as "struct NAME size N" / "  member NAME off N" lines.
# Used for the arm binary, which cannot run here.  Usage: dwarf-layouts.sh BIN
set -eu
readelf -z --debug-dump=info "$1" 2>/dev/null | awk '
	/DW_TAG_structure_type/ { instruct = 1; name = ""; inmember = 0; next }
	/DW_TAG_member/ { inmember = 1; mname = ""; next }
	/DW_TAG_/ { if (!/DW_TAG_member/) { instruct = 0; inmember = 0 } }
	instruct && !inmember && /DW_AT_name/ { name = $NF; keep = (name ~ /^main\./) }
	instruct && !inmember && /DW_AT_byte_size/ && keep { print "struct " name " size " $NF }
	instruct && inmember && /DW_AT_name/ { mname = $NF }
	instruct && inmember && /DW_AT_data_member_location/ && keep { print "  member " mname " off " $NF }
'
