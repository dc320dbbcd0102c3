; The Windows installer of the bundle (`make package-windows`, built by installer.sh with Debian's
; NSIS): dist/windows/cxr-pneumonia-setup-VERSION.exe.
;
; - For the current user by default, without administrator rights, into
;   %LOCALAPPDATA%\Programs\cxr-pneumonia; for all users (Program Files, HKLM) when the installer
;   runs elevated ("Run as administrator") or with /AllUsers. /CurrentUser forces the first.
; - /S installs silently, /D=C:\target\folder (last on the line, unquoted) picks the folder.
; - A Start-menu entry, an optional desktop shortcut, and an uninstaller listed in
;   "Apps & features" (the Uninstall key of HKCU, or HKLM for all users).
; - Uninstalling removes the program's files only: the case history and the settings live in the
;   user's %LOCALAPPDATA%\cxr-pneumonia (platformdirs), which stays, and the uninstaller says so.
;   Installing over an older version replaces the program and leaves that folder alone.
; Defined by installer.sh: VERSION, SOURCE (the bundle folder), OUTFILE, ICON.

; 64-bit, as the app (and no 32-bit Wine is needed to run it on the build machine).
Target amd64-unicode
SetCompressor /SOLID lzma
SetCompressorDictSize 64
ManifestDPIAware true
RequestExecutionLevel user

!include MUI2.nsh
!include LogicLib.nsh
!include FileFunc.nsh
!include WordFunc.nsh

!define APP "cxr-pneumonia"
!define TITLE "CXR Pneumonia"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APP}"

Name "${TITLE} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir ""
BrandingText "${TITLE} ${VERSION}"
VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=0 "ProductName" "${TITLE}"
VIAddVersionKey /LANG=0 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileDescription" "${TITLE} setup"
VIAddVersionKey /LANG=0 "LegalCopyright" "Research and teaching tool. Not for clinical diagnosis."

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING
!define MUI_COMPONENTSPAGE_SMALLDESC  ; the list as wide as the page: "Atalho na área de trabalho" fits
!define MUI_FINISHPAGE_RUN "$INSTDIR\${APP}.exe"
!define MUI_UNCONFIRMPAGE_TEXT_TOP "$(KEPT)"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

; The first is the fallback; otherwise NSIS picks the one of the user's Windows language.
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "PortugueseBR"
!insertmacro MUI_LANGUAGE "Spanish"

Var AllUsers  ; 1: Program Files, HKLM, the all-users Start menu
Var DataDir  ; the user's history and settings (platformdirs), named by the uninstaller

LangString PROGRAM ${LANG_ENGLISH} "Program (required)"
LangString PROGRAM ${LANG_PORTUGUESEBR} "Programa (obrigatório)"
LangString PROGRAM ${LANG_SPANISH} "Programa (obligatorio)"
LangString DESKTOP ${LANG_ENGLISH} "Desktop shortcut"
LangString DESKTOP ${LANG_PORTUGUESEBR} "Atalho na área de trabalho"
LangString DESKTOP ${LANG_SPANISH} "Acceso directo en el escritorio"
LangString NOT_ADMIN ${LANG_ENGLISH} "Installing for all users needs administrator rights: run the installer as administrator, or without /AllUsers to install for yourself."
LangString NOT_ADMIN ${LANG_PORTUGUESEBR} "Instalar para todos os usuários exige direitos de administrador: execute o instalador como administrador, ou sem /AllUsers para instalar só para você."
LangString NOT_ADMIN ${LANG_SPANISH} "Instalar para todos los usuarios requiere derechos de administrador: ejecute el instalador como administrador, o sin /AllUsers para instalarlo solo para usted."
LangString KEPT ${LANG_ENGLISH} "Your case history and settings are kept in $DataDir. Delete that folder yourself if you no longer need them."
LangString KEPT ${LANG_PORTUGUESEBR} "Seu histórico de casos e suas configurações ficam em $DataDir. Apague essa pasta você mesmo se não precisar mais deles."
LangString KEPT ${LANG_SPANISH} "Su historial de casos y su configuración se conservan en $DataDir. Borre esa carpeta usted mismo si ya no los necesita."


; Picks the shell context ($SMPROGRAMS, $DESKTOP, SHCTX) for all users or the current one.
!macro USE_CONTEXT
  ${If} $AllUsers == 1
    SetShellVarContext all
  ${Else}
    SetShellVarContext current
  ${EndIf}
!macroend

Function .onInit
  ${GetParameters} $R0
  UserInfo::GetAccountType
  Pop $R1
  ; An elevated installer installs for everyone; an ordinary one (UAC's filtered token, or a
  ; user without rights) for the user who runs it.
  StrCpy $AllUsers 0
  ${If} $R1 == "Admin"
    StrCpy $AllUsers 1
  ${EndIf}
  ClearErrors
  ${GetOptions} $R0 "/CurrentUser" $R2
  ${IfNot} ${Errors}
    StrCpy $AllUsers 0
  ${EndIf}
  ClearErrors
  ${GetOptions} $R0 "/AllUsers" $R2
  ${IfNot} ${Errors}
    ${If} $R1 != "Admin"
      MessageBox MB_OK|MB_ICONSTOP "$(NOT_ADMIN)" /SD IDOK
      SetErrorLevel 5  ; ERROR_ACCESS_DENIED
      Quit
    ${EndIf}
    StrCpy $AllUsers 1
  ${EndIf}
  !insertmacro USE_CONTEXT
  ${If} $INSTDIR == ""  ; NSIS reads /D= unquoted only; a script's "/D=C:\a b" counts too
    ClearErrors
    ${WordFind} $CMDLINE '"/D=' "E+1}" $R2
    ${IfNot} ${Errors}
      ${WordFind} $R2 '"' "+1{" $INSTDIR
    ${EndIf}
  ${EndIf}
  ${If} $INSTDIR == ""  ; no /D=: where an earlier version went, else the default
    ReadRegStr $INSTDIR SHCTX "${UNINSTALL_KEY}" "InstallLocation"
  ${EndIf}
  ${If} $INSTDIR == ""
    ${If} $AllUsers == 1
      StrCpy $INSTDIR "$PROGRAMFILES64\${APP}"
    ${Else}
      StrCpy $INSTDIR "$LOCALAPPDATA\Programs\${APP}"
    ${EndIf}
  ${EndIf}
FunctionEnd

Section "$(PROGRAM)" SecProgram
  SectionIn RO
  SetOutPath "$INSTDIR"
  ; An upgrade: the older version's program files go first (no stale library is left beside the
  ; new ones); only what this installer puts here is touched, never the user's data folder.
  RMDir /r "$INSTDIR\_internal"
  File /r "${SOURCE}/*"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateShortCut "$SMPROGRAMS\${TITLE}.lnk" "$INSTDIR\${APP}.exe"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayName" "${TITLE}"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "Publisher" "${TITLE} maintainers"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\${APP}.exe"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "EstimatedSize" $0
SectionEnd

Section "$(DESKTOP)" SecDesktop
  CreateShortCut "$DESKTOP\${TITLE}.lnk" "$INSTDIR\${APP}.exe"
SectionEnd

Function un.onInit
  SetShellVarContext current
  StrCpy $DataDir "$LOCALAPPDATA\${APP}"
  ; All users when HKLM's entry names this folder (the installer wrote it there), else the user.
  StrCpy $AllUsers 0
  ReadRegStr $R0 HKLM "${UNINSTALL_KEY}" "InstallLocation"
  ${If} $R0 == $INSTDIR
    StrCpy $AllUsers 1
  ${EndIf}
  !insertmacro USE_CONTEXT
FunctionEnd

Section "Uninstall"
  ; The program's own files only (the folder may be one the user named with /D=).
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${APP}.exe"
  Delete "$INSTDIR\${APP}-cli.exe"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${TITLE}.lnk"
  Delete "$DESKTOP\${TITLE}.lnk"
  DeleteRegKey SHCTX "${UNINSTALL_KEY}"
  DetailPrint "$(KEPT)"
SectionEnd

Function un.onUninstSuccess
  MessageBox MB_OK|MB_ICONINFORMATION "$(KEPT)" /SD IDOK
FunctionEnd
