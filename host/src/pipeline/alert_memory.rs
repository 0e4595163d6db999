//! The history store keeps the alert lifecycle's silences and acknowledgements in its
//! state table: the one place that names both (a stage names no other stage).

use crate::alerts::silences::Keeper;
use crate::store::Store;

impl Keeper for Store {
    fn put(&self, key: &str, value: &str) -> Result<(), String> {
        self.put_state(key, value).map_err(|e| e.to_string())
    }

    fn get(&self, key: &str) -> Result<Option<String>, String> {
        self.get_state(key).map_err(|e| e.to_string())
    }

    fn place(&self) -> String {
        "the history store's state table".to_owned()
    }
}
