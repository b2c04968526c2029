# sheets-crm: register the morning sync in Windows Task Scheduler.
#
# Run in PowerShell as the user whose sheets-crm config should be used:
#   powershell -ExecutionPolicy Bypass -File scripts\windows-task.ps1
# Remove again with:
#   Unregister-ScheduledTask -TaskName "sheets-crm sync" -Confirm:$false
#
# Task Scheduler triggers use this PC's clock and zone. If the PC is not in
# the spreadsheet's zone, adjust -At, or import windows-task.xml instead
# (its StartBoundary carries an explicit UTC offset), or run
# `uv run sheets-crm schedule`, which follows time_zone from sheets-crm.toml.

param(
    [string]$ProjectDir = "$env:USERPROFILE\sheets-crm",
    [string]$At = "08:00",
    [string]$TaskName = "sheets-crm sync"
)

$ErrorActionPreference = "Stop"

$uv = (Get-Command uv -ErrorAction SilentlyContinue).Source
if (-not $uv) { $uv = "$env:USERPROFILE\.local\bin\uv.exe" }
if (-not (Test-Path $uv)) { throw "uv not found; install it first: https://docs.astral.sh/uv/" }

$logDir = Join-Path $env:LOCALAPPDATA "sheets-crm\Logs"
New-Item -ItemType Directory -Force -Path $logDir | Out-Null

# cmd /c only to append the output to a log file.
$action = New-ScheduledTaskAction -Execute "cmd.exe" `
    -Argument "/c `"`"$uv`" run sheets-crm sync >> `"$logDir\sync.log`" 2>&1`"" `
    -WorkingDirectory $ProjectDir
$trigger = New-ScheduledTaskTrigger -Daily -At $At
$settings = New-ScheduledTaskSettingsSet `
    -StartWhenAvailable `
    -MultipleInstances IgnoreNew `
    -ExecutionTimeLimit (New-TimeSpan -Minutes 15) `
    -RunOnlyIfNetworkAvailable

Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Settings $settings `
    -Description "sheets-crm: daily sync of the CRM spreadsheet(s) in sheets-crm.toml" -Force | Out-Null

Write-Host "Registered '$TaskName': daily at $At (this PC's time zone), logs in $logDir\sync.log"
Write-Host "Run it now with: Start-ScheduledTask -TaskName '$TaskName'"
