"""The script ``flet pack`` freezes: the desktop window, exactly as ``station-app`` starts it.

PyInstaller follows the imports from here; package data (fonts, the catalog, the pinyin
table) and the document templates are added by pack_linux.sh / build_windows.ps1 at the
paths the code looks for them relative to its own files.
"""

import multiprocessing

from station_app.ui.app import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen program must call this before anything else
    main()
